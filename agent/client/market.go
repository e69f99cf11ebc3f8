package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// ProposalArgs is a work proposal (§11). Zero optional fields are not sent.
type ProposalArgs struct {
	// To is the recipient, "@id" ("@" is added when missing).
	To   string
	Task string
	// Amount, Currency, PaymentCode and Terms describe the payment.
	Amount      float64
	Currency    string
	PaymentCode string
	Terms       string
	// Expires is the proposal's lifetime in seconds; 0 means none.
	Expires int64
	// EloStake is the reputation the proposer stakes; 0 means none.
	EloStake int64
	// Capability names the skill the proposal is for.
	Capability string
}

// needKey returns ErrNoIdentity for a client that cannot sign.
func (c *Client) needKey() error {
	if c.priv == nil {
		return ErrNoIdentity
	}
	return nil
}

// marketReply is the reply of a marketplace operation: the frame of type
// typ that take accepts. The node echoes these to their sender; a node whose
// marketplace answers after the fence is still waited for (reply.need).
func marketReply(typ string, take func(*frame) bool) reply {
	return reply{fenced: true, need: true, take: func(f *frame) bool { return f.hdr.Type == typ && take(f) }}
}

// Propose sends a signed PROPOSAL (§11; signature over
// protocol.ProposalSigningString) and returns the node's echo, which carries
// the proposal ID.
func (c *Client) Propose(ctx context.Context, a ProposalArgs) (*protocol.ProposalFrame, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	m := &proposalMsg{Type: protocol.TypeProposal, To: atTarget(a.To), Task: a.Task, Currency: a.Currency,
		PaymentCode: a.PaymentCode, Terms: a.Terms, Capability: a.Capability}
	var expires *float64
	if a.Amount != 0 {
		m.Amount = &a.Amount
	}
	if a.Expires != 0 {
		m.Expires = &a.Expires
		e := float64(a.Expires)
		expires = &e
	}
	if a.EloStake != 0 {
		m.EloStake = &a.EloStake
	}
	m.Sig = identity.Sign(c.priv, protocol.ProposalSigningString(m.To, m.Task, m.Amount, m.Currency, m.PaymentCode, expires, m.EloStake))
	frames, err := c.call(ctx, m, marketReply(protocol.TypeProposal, func(f *frame) bool { return f.hdr.Sig == m.Sig }))
	if err != nil {
		return nil, fmt.Errorf("propose to %s: %w", m.To, err)
	}
	return decodeReply[protocol.ProposalFrame]("propose", frames)
}

// Accept accepts a proposal addressed to this agent, signing
// protocol.AcceptSigningString; eloStake 0 stakes nothing.
func (c *Client) Accept(ctx context.Context, proposalID, paymentCode string, eloStake int64) (*protocol.AcceptFrame, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("accept: %w", err)
	}
	m := &acceptMsg{Type: protocol.TypeAccept, ProposalID: proposalID, PaymentCode: paymentCode}
	if eloStake != 0 {
		m.EloStake = &eloStake
	}
	m.Sig = identity.Sign(c.priv, protocol.AcceptSigningString(proposalID, paymentCode, m.EloStake))
	frames, err := c.call(ctx, m, marketReply(protocol.TypeAccept, proposalIs(proposalID)))
	if err != nil {
		return nil, fmt.Errorf("accept %s: %w", proposalID, err)
	}
	return decodeReply[protocol.AcceptFrame]("accept", frames)
}

// Reject rejects a proposal addressed to this agent.
func (c *Client) Reject(ctx context.Context, proposalID, reason string) (*protocol.RejectFrame, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("reject: %w", err)
	}
	m := &rejectMsg{Type: protocol.TypeReject, ProposalID: proposalID, Reason: reason,
		Sig: identity.Sign(c.priv, protocol.RejectSigningString(proposalID, reason))}
	frames, err := c.call(ctx, m, marketReply(protocol.TypeReject, proposalIs(proposalID)))
	if err != nil {
		return nil, fmt.Errorf("reject %s: %w", proposalID, err)
	}
	return decodeReply[protocol.RejectFrame]("reject", frames)
}

// Complete marks an accepted proposal done, with an optional proof.
func (c *Client) Complete(ctx context.Context, proposalID, proof string) (*protocol.CompleteFrame, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("complete: %w", err)
	}
	m := &completeMsg{Type: protocol.TypeComplete, ProposalID: proposalID, Proof: proof,
		Sig: identity.Sign(c.priv, protocol.CompleteSigningString(proposalID, proof))}
	frames, err := c.call(ctx, m, marketReply(protocol.TypeComplete, proposalIs(proposalID)))
	if err != nil {
		return nil, fmt.Errorf("complete %s: %w", proposalID, err)
	}
	return decodeReply[protocol.CompleteFrame]("complete", frames)
}

// Dispute disputes an accepted proposal (the legacy unilateral DISPUTE);
// reason is required.
func (c *Client) Dispute(ctx context.Context, proposalID, reason string) (*protocol.DisputeFrame, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("dispute: %w", err)
	}
	if reason == "" {
		return nil, errors.New("dispute: a reason is required")
	}
	m := &disputeMsg{Type: protocol.TypeDispute, ProposalID: proposalID, Reason: reason,
		Sig: identity.Sign(c.priv, protocol.DisputeSigningString(proposalID, reason))}
	frames, err := c.call(ctx, m, marketReply(protocol.TypeDispute, proposalIs(proposalID)))
	if err != nil {
		return nil, fmt.Errorf("dispute %s: %w", proposalID, err)
	}
	return decodeReply[protocol.DisputeFrame]("dispute", frames)
}

// RegisterSkills replaces the agent's skill registration (§14). Each skill
// needs a non-empty "capability". The signature covers
// "REGISTER_SKILLS|" + sha256(JSR(skills)), computed over the exact bytes
// sent.
func (c *Client) RegisterSkills(ctx context.Context, skills []map[string]any) (*protocol.SkillsRegistered, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("register skills: %w", err)
	}
	raw, err := protocol.Encode(skills)
	if err != nil {
		return nil, fmt.Errorf("register skills: %w", err)
	}
	jsr, err := protocol.JSR(raw)
	if err != nil {
		return nil, fmt.Errorf("register skills: %w", err)
	}
	m := &registerSkillsMsg{Type: protocol.TypeRegisterSkills, Skills: raw,
		Sig: identity.Sign(c.priv, protocol.RegisterSkillsSigningString(jsr))}
	frames, err := c.call(ctx, m, marketReply(protocol.TypeSkillsRegistered, func(*frame) bool { return true }))
	if err != nil {
		return nil, fmt.Errorf("register skills: %w", err)
	}
	return decodeReply[protocol.SkillsRegistered]("register skills", frames)
}

// SearchSkills searches the skills registry (§14). The results are matched
// to this search by a fresh query_id.
func (c *Client) SearchSkills(ctx context.Context, q protocol.SkillQuery) (*protocol.SearchResults, error) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	qid := "q_" + strconv.FormatInt(time.Now().UnixMilli(), 10) + "_" + hex.EncodeToString(rnd[:])
	m := &searchSkillsMsg{Type: protocol.TypeSearchSkills, Query: q, QueryID: qid}
	frames, err := c.call(ctx, m, marketReply(protocol.TypeSearchResults, func(f *frame) bool {
		var got string
		return json.Unmarshal(f.hdr.QueryID, &got) == nil && got == qid
	}))
	if err != nil {
		return nil, fmt.Errorf("search skills: %w", err)
	}
	return decodeReply[protocol.SearchResults]("search skills", frames)
}

func proposalIs(id string) func(*frame) bool {
	return func(f *frame) bool { return f.hdr.ProposalID == id }
}

// decodeReply decodes the first reply frame into T.
func decodeReply[T any](op string, frames []*frame) (*T, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNoReply)
	}
	v, err := decodeAs[T](frames[0])
	if err != nil {
		return nil, fmt.Errorf("%s: decode reply: %w", op, err)
	}
	return v, nil
}

// atTarget adds the "@" of an agent reference when it is missing.
func atTarget(s string) string {
	if strings.HasPrefix(s, "@") {
		return s
	}
	return "@" + s
}
