package client_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
)

// checkingMarket is a stand-in marketplace: it verifies every signature the
// way the spec says a market must (§7.1) and echoes minimal frames, so the
// client's signing is checked end to end through a real node.
type checkingMarket struct{}

var errBadSig = protocol.Errorf(protocol.CodeVerificationFailed, "Invalid signature")

func (checkingMarket) Handle(_ context.Context, from node.Caller, m protocol.Message, c node.Courier) *protocol.Error {
	pub, err := identity.ParsePublicPEM(from.Pubkey)
	now := time.Now().UnixMilli()
	if err != nil && m.Type() != protocol.TypeSearchSkills {
		return errBadSig
	}
	switch m := m.(type) {
	case *protocol.Proposal:
		if m.Task == "slow" {
			// Holds the connection's reader, as a market doing I/O would:
			// every later frame is answered after this ERROR.
			time.Sleep(300 * time.Millisecond)
			return protocol.Errorf(protocol.CodeInsufficientReputation, "slow refusal")
		}
		if !identity.Verify(pub, protocol.ProposalSigningString(m.To, m.Task, m.Amount, m.Currency, m.PaymentCode, m.Expires, m.EloStake), m.Sig) {
			return errBadSig
		}
		f := &protocol.ProposalFrame{Type: protocol.TypeProposal, TS: now, ID: "prop_test_0badf00d", From: "@" + from.ID,
			To: m.To, Task: m.Task, Amount: m.Amount, Status: protocol.StatusPending, CreatedAt: now, Sig: m.Sig, EloStake: m.EloStake}
		if m.Currency != "" {
			f.Currency = &m.Currency
		}
		c.Send(m.To[1:], f)
		c.Reply(f)
	case *protocol.Accept:
		if !identity.Verify(pub, protocol.AcceptSigningString(m.ProposalID, m.PaymentCode, m.EloStake), m.Sig) {
			return errBadSig
		}
		c.Reply(&protocol.AcceptFrame{Type: protocol.TypeAccept, TS: now, ProposalID: m.ProposalID, Status: protocol.StatusAccepted, Sig: m.Sig})
	case *protocol.Reject:
		if !identity.Verify(pub, protocol.RejectSigningString(m.ProposalID, m.Reason), m.Sig) {
			return errBadSig
		}
		c.Reply(&protocol.RejectFrame{Type: protocol.TypeReject, TS: now, ProposalID: m.ProposalID, Status: protocol.StatusRejected, Reason: &m.Reason, Sig: m.Sig})
	case *protocol.Complete:
		if !identity.Verify(pub, protocol.CompleteSigningString(m.ProposalID, m.Proof), m.Sig) {
			return errBadSig
		}
		c.Reply(&protocol.CompleteFrame{Type: protocol.TypeComplete, TS: now, ProposalID: m.ProposalID, Status: protocol.StatusCompleted, Proof: &m.Proof, Sig: m.Sig})
	case *protocol.Dispute:
		if !identity.Verify(pub, protocol.DisputeSigningString(m.ProposalID, m.Reason), m.Sig) {
			return errBadSig
		}
		c.Reply(&protocol.DisputeFrame{Type: protocol.TypeDispute, TS: now, ProposalID: m.ProposalID, Status: protocol.StatusDisputed, Reason: m.Reason, Sig: m.Sig})
	case *protocol.RegisterSkills:
		jsr, err := protocol.JSR(m.Skills)
		if err != nil || !identity.Verify(pub, protocol.RegisterSkillsSigningString(jsr), m.Sig) {
			return errBadSig
		}
		var skills []json.RawMessage
		_ = json.Unmarshal(m.Skills, &skills)
		c.Reply(&protocol.SkillsRegistered{Type: protocol.TypeSkillsRegistered, TS: now, AgentID: "@" + from.ID, SkillsCount: len(skills), RegisteredAt: now})
	case *protocol.SearchSkills:
		q, _ := protocol.Encode(m.Query)
		c.Reply(&protocol.SearchResults{Type: protocol.TypeSearchResults, TS: now, QueryID: m.QueryID, Query: q,
			Results: []json.RawMessage{json.RawMessage(`{"agent_id":"@x","capability":"code_review"}`)}, Total: 1})
	default:
		return protocol.Errorf(protocol.CodeInvalidMsg, "not in this test")
	}
	return nil
}

func (checkingMarket) Stats() node.ProposalStats {
	return node.ProposalStats{ByStatus: map[string]int{}}
}

func (checkingMarket) Observe(node.Caller, []byte) {} // one node: nothing is relayed

func (checkingMarket) ObserveCase(string, []byte) {}

func withMarket(c *node.Config) { c.Market = checkingMarket{} }

func TestMarketOperationsAreSigned(t *testing.T) {
	n := startNode(t, withMarket, noLimits)
	alice := dial(t, n, client.Options{Identity: newIdentity(t, "alice")})
	bob := dial(t, n, client.Options{Identity: newIdentity(t, "bob")})
	ctx := ctxT(t)

	p, err := alice.Propose(ctx, client.ProposalArgs{To: bob.AgentID()[1:], Task: "Review PR #42 | <b>&",
		Amount: 1.5, Currency: "SOL", Expires: 300, EloStake: 25})
	require.NoError(t, err)
	require.Equal(t, "prop_test_0badf00d", p.ID)
	require.Equal(t, bob.AgentID(), p.To, `"@" is added to the target`)
	require.Equal(t, alice.AgentID(), p.From)
	got := nextEvent(t, bob, func(f *protocol.ProposalFrame) bool { return f.ID == p.ID })
	require.Equal(t, "Review PR #42 | <b>&", got.Task)

	a, err := bob.Accept(ctx, p.ID, "bc1qpay", 10)
	require.NoError(t, err)
	require.Equal(t, protocol.StatusAccepted, a.Status)
	r, err := bob.Reject(ctx, p.ID, "busy")
	require.NoError(t, err)
	require.Equal(t, "busy", *r.Reason)
	cf, err := alice.Complete(ctx, p.ID, "https://example/pr/42")
	require.NoError(t, err)
	require.Equal(t, protocol.StatusCompleted, cf.Status)
	df, err := alice.Dispute(ctx, p.ID, "never delivered")
	require.NoError(t, err)
	require.Equal(t, "never delivered", df.Reason)
	_, err = alice.Dispute(ctx, p.ID, "")
	require.Error(t, err)

	sr, err := alice.RegisterSkills(ctx, []map[string]any{
		{"capability": "code_review", "rate": 5, "currency": "TEST", "description": "reviews <Go> & \"more\""},
		{"capability": "translation", "rate": 0.1},
	})
	require.NoError(t, err)
	require.Equal(t, 2, sr.SkillsCount)

	res, err := bob.SearchSkills(ctx, protocol.SkillQuery{Capability: "code"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Total)
	require.Len(t, res.Results, 1)
}

// TestAbandonedCallKeepsItsAnswer abandons a call whose ERROR comes late and
// checks that the ERROR is not taken for the answer of the next calls.
func TestAbandonedCallKeepsItsAnswer(t *testing.T) {
	n := startNode(t, withMarket)
	c := dial(t, n, client.Options{Identity: newIdentity(t, "alice")})
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Propose(short, client.ProposalArgs{To: c.AgentID(), Task: "slow"})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx := ctxT(t)
	_, err = c.Join(ctx, "#nope")
	require.Equal(t, string(protocol.CodeChannelNotFound), serverCode(t, err), "the late market ERROR is not this call's")
	_, err = c.ListChannels(ctx)
	require.NoError(t, err)
	noEvent[*protocol.ErrorFrame](t, c, 50*time.Millisecond, nil)
}
