package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// Agentcourt (PROTOCOL.md §13). A party files with a commitment to a
// nonce it keeps, reveals the nonce, and both parties submit evidence; the
// arbiters the seed draws accept or decline their seats and vote. The
// node's answers that are not replies (PANEL_FORMED, ARBITER_ASSIGNED,
// CASE_READY, VERDICT, SETTLEMENT_COMPLETE …) arrive as events.

// Filing is a filed dispute: the node's acknowledgement and the nonce to
// reveal, which only the disputant knows until it does.
type Filing struct {
	Ack        *protocol.DisputeIntentAck
	Nonce      string
	Commitment string
}

// EvidenceItem is one piece of evidence as the MCP tools shape it; Kind is
// commit, message_log, file, screenshot, attestation or other (the node
// does not check it).
type EvidenceItem struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

// NewDisputeNonce returns a fresh nonce and its commitment as the MCP
// client makes them (§13.2): 32 hex characters of 16 random bytes, and the
// hex SHA-256 of that text.
func NewDisputeNonce() (nonce, commitment string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce = hex.EncodeToString(b[:])
	return nonce, protocol.Commitment(nonce)
}

// FileDispute sends DISPUTE_INTENT for an accepted proposal with a fresh
// nonce's commitment and returns the acknowledgement with the nonce.
func (c *Client) FileDispute(ctx context.Context, proposalID, reason string) (*Filing, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("file dispute: %w", err)
	}
	if reason == "" {
		return nil, errors.New("file dispute: a reason is required")
	}
	nonce, commitment := NewDisputeNonce()
	m := &disputeIntentMsg{Type: protocol.TypeDisputeIntent, ProposalID: proposalID, Reason: reason, Commitment: commitment,
		Sig: identity.Sign(c.priv, protocol.DisputeIntentSigningString(proposalID, reason, commitment))}
	frames, err := c.call(ctx, m, marketReply(protocol.TypeDisputeIntentAck, proposalIs(proposalID)))
	if err != nil {
		return nil, fmt.Errorf("file dispute on %s: %w", proposalID, err)
	}
	ack, err := decodeReply[protocol.DisputeIntentAck]("file dispute", frames)
	if err != nil {
		return nil, err
	}
	return &Filing{Ack: ack, Nonce: nonce, Commitment: commitment}, nil
}

// RevealDispute sends DISPUTE_REVEAL and returns what it led to:
// DISPUTE_REVEALED (*protocol.DisputeRevealed) when a panel was drawn, or
// DISPUTE_FALLBACK (*protocol.DisputeFallback) when none could be.
func (c *Client) RevealDispute(ctx context.Context, proposalID, nonce string) (any, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("reveal dispute: %w", err)
	}
	m := &disputeRevealMsg{Type: protocol.TypeDisputeReveal, ProposalID: proposalID, Nonce: nonce,
		Sig: identity.Sign(c.priv, protocol.DisputeRevealSigningString(proposalID, nonce))}
	frames, err := c.call(ctx, m, reply{fenced: true, need: true, take: func(f *frame) bool {
		return f.hdr.Type == protocol.TypeDisputeRevealed ||
			f.hdr.Type == protocol.TypeDisputeFallback && f.hdr.ProposalID == proposalID
	}})
	if err != nil {
		return nil, fmt.Errorf("reveal dispute on %s: %w", proposalID, err)
	}
	if len(frames) > 0 && frames[0].hdr.Type == protocol.TypeDisputeFallback {
		return decodeReply[protocol.DisputeFallback]("reveal dispute", frames)
	}
	return decodeReply[protocol.DisputeRevealed]("reveal dispute", frames)
}

// SubmitEvidence sends a party's EVIDENCE (signed over the hash of the
// items as sent) and returns the node's EVIDENCE_RECEIVED.
func (c *Client) SubmitEvidence(ctx context.Context, disputeID string, items []EvidenceItem, statement string) (*protocol.EvidenceReceived, error) {
	if err := c.needKey(); err != nil {
		return nil, fmt.Errorf("submit evidence: %w", err)
	}
	if items == nil {
		items = []EvidenceItem{}
	}
	raw, err := protocol.Encode(items)
	if err != nil {
		return nil, fmt.Errorf("submit evidence: %w", err)
	}
	jsr, err := protocol.JSR(raw)
	if err != nil {
		return nil, fmt.Errorf("submit evidence: %w", err)
	}
	m := &evidenceMsg{Type: protocol.TypeEvidence, DisputeID: disputeID, Items: raw, Statement: statement,
		Sig: identity.Sign(c.priv, protocol.EvidenceSigningString(disputeID, jsr))}
	self := c.AgentID()
	frames, err := c.call(ctx, m, marketReply(protocol.TypeEvidenceReceived, func(f *frame) bool {
		return f.hdr.DisputeID == disputeID && f.hdr.From == self
	}))
	if err != nil {
		return nil, fmt.Errorf("submit evidence to %s: %w", disputeID, err)
	}
	return decodeReply[protocol.EvidenceReceived]("submit evidence", frames)
}

// AcceptSeat takes a seat offered by ARBITER_ASSIGNED. The node does not
// answer a success; an error is a *ServerError.
func (c *Client) AcceptSeat(ctx context.Context, disputeID string) error {
	if err := c.needKey(); err != nil {
		return fmt.Errorf("accept seat: %w", err)
	}
	return c.courtOp(ctx, "accept seat on "+disputeID, &arbiterMsg{Type: protocol.TypeArbiterAccept, DisputeID: disputeID,
		Sig: identity.Sign(c.priv, protocol.ArbiterAcceptSigningString(disputeID))})
}

// DeclineSeat gives up a seat offered by ARBITER_ASSIGNED (signed); the
// node seats a replacement.
func (c *Client) DeclineSeat(ctx context.Context, disputeID, reason string) error {
	if err := c.needKey(); err != nil {
		return fmt.Errorf("decline seat: %w", err)
	}
	return c.courtOp(ctx, "decline seat on "+disputeID, &arbiterMsg{Type: protocol.TypeArbiterDecline, DisputeID: disputeID,
		Reason: reason, Sig: identity.Sign(c.priv, protocol.ArbiterDeclineSigningString(disputeID, reason))})
}

// Vote casts an arbiter's vote: verdict is disputant, respondent or
// mutual; the reasoning (at most 500 characters) is not signed.
func (c *Client) Vote(ctx context.Context, disputeID, verdict, reasoning string) error {
	if err := c.needKey(); err != nil {
		return fmt.Errorf("vote: %w", err)
	}
	return c.courtOp(ctx, "vote on "+disputeID, &arbiterMsg{Type: protocol.TypeArbiterVote, DisputeID: disputeID,
		Verdict: verdict, Reasoning: &reasoning, Sig: identity.Sign(c.priv, protocol.ArbiterVoteSigningString(disputeID, verdict))})
}

// courtOp sends an arbiter frame the node does not answer on success; the
// fence tells success from an ERROR.
func (c *Client) courtOp(ctx context.Context, op string, m *arbiterMsg) error {
	if _, err := c.call(ctx, m, reply{fenced: true, take: func(*frame) bool { return false }}); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
