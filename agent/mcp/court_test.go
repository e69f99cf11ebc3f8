package mcp_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/mcp"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// startCourtNode is a full node (real market and ledger) whose proposals
// settle at once and whose court seats agents with one receipt.
func startCourtNode(t *testing.T) *testnet.Node {
	t.Helper()
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.Node.RateLimits = false
	cfg.Market.MinAge = 0
	cfg.Market.Court = market.CourtConfig{MinTransactions: 1}
	n, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return n
}

func dialURL(t *testing.T, url, name string) *client.Client {
	t.Helper()
	c, err := client.Dial(ctxT(t), client.Options{URL: url, Name: name, Identity: newIdentity(t, name)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// settleWith runs a proposal from a to b to completion.
func settleWith(t *testing.T, a, b *client.Client) {
	t.Helper()
	p, err := a.Propose(ctxT(t), client.ProposalArgs{To: b.AgentID(), Task: "qualify"})
	require.NoError(t, err)
	_, err = b.Accept(ctxT(t), p.ID, "", 0)
	require.NoError(t, err)
	_, err = a.Complete(ctxT(t), p.ID, "")
	require.NoError(t, err)
}

// The agentcourt tools drive a case on a real node: file and reveal give
// the nonce and the seed, evidence is recorded, the panel (Go clients)
// votes, and the tools' errors are the node's §13 codes.
func TestCourtTools(t *testing.T) {
	n := startCourtNode(t)
	url := n.WS()
	var arbs []*client.Client
	for _, name := range []string{"arb0", "arb1", "arb2", "arb3"} {
		arbs = append(arbs, dialURL(t, url, name))
	}
	settleWith(t, arbs[0], arbs[1])
	settleWith(t, arbs[2], arbs[3])

	cs := startServer(t, mcp.Config{URL: url})
	self := callOK(t, cs, "agentchat_connect", map[string]any{"name": "buyer"})["agent_id"].(string)
	seller := dialURL(t, url, "seller")
	p, err := seller.Propose(ctxT(t), client.ProposalArgs{To: self, Task: "a job"})
	require.NoError(t, err)
	callOK(t, cs, "agentchat_accept", map[string]any{"proposal_id": p.ID})

	filed := callOK(t, cs, "agentchat_dispute_file", map[string]any{"proposal_id": p.ID, "reason": "never paid"})
	dispute := filed["dispute_id"].(string)
	require.Equal(t, protocol.Commitment(filed["nonce"].(string)), filed["commitment"])
	require.Contains(t, callErr(t, cs, "agentchat_dispute_reveal", map[string]any{"proposal_id": p.ID, "nonce": "wrong"}),
		"DISPUTE_COMMITMENT_MISMATCH")
	revealed := callOK(t, cs, "agentchat_dispute_reveal", map[string]any{"proposal_id": p.ID, "nonce": filed["nonce"]})
	require.Equal(t, dispute, revealed["dispute_id"])
	require.Equal(t, protocol.DisputeSeed(p.ID, filed["nonce"].(string), filed["server_nonce"].(string)), revealed["seed"])

	require.Contains(t, callErr(t, cs, "agentchat_arbiter_accept", map[string]any{"dispute_id": dispute}), "DISPUTE_NOT_ARBITER")
	require.Contains(t, callErr(t, cs, "agentchat_arbiter_decline", map[string]any{"dispute_id": "disp_none"}), "DISPUTE_NOT_FOUND")
	require.Contains(t, callErr(t, cs, "agentchat_arbiter_vote", map[string]any{"dispute_id": dispute, "verdict": "guilty",
		"reasoning": "x"}), "INVALID_MSG")

	// The panel is the seeded shuffle of the pool, which the test
	// recomputes from the node's fold.
	pool := market.CourtPool(n.Market.Table(), n.Market.Lineage(), market.CourtConfig{MinTransactions: 1}, self, seller.AgentID())
	order := protocol.SeededShuffle(pool, revealed["seed"].(string))
	byID := map[string]*client.Client{}
	for _, a := range arbs {
		byID[a.AgentID()] = a
	}
	var seated []*client.Client
	for _, id := range order[:market.PanelSize] {
		a := byID[id]
		require.NotNil(t, a, "%s is not an arbiter of the test", id)
		nextEvent(t, a, func(f *protocol.ArbiterAssigned) bool { return f.DisputeID == dispute })
		seated = append(seated, a)
	}
	// One arbiter declines: the fourth agent is seated in its place.
	require.NoError(t, seated[0].DeclineSeat(ctxT(t), dispute, "busy"))
	repl := byID[order[market.PanelSize]]
	nextEvent(t, repl, func(f *protocol.ArbiterAssigned) bool { return f.DisputeID == dispute && f.IsReplacement })
	seated = append(seated[1:], repl)
	for _, a := range seated {
		require.NoError(t, a.AcceptSeat(ctxT(t), dispute))
	}
	ev := callOK(t, cs, "agentchat_evidence", map[string]any{"dispute_id": dispute, "statement": "see the log",
		"items": []map[string]any{{"kind": "message_log", "label": "chat", "value": "no payment"}}})
	require.Equal(t, float64(1), ev["items_count"])
	_, err = seller.SubmitEvidence(ctxT(t), dispute, []client.EvidenceItem{{Kind: "commit", Label: "fix", Value: "abc123"}}, "done")
	require.NoError(t, err)
	for _, a := range seated {
		nextEvent(t, a, func(f *protocol.CaseReady) bool { return f.DisputeID == dispute })
		require.NoError(t, a.Vote(ctxT(t), dispute, "disputant", "no payment shown"))
	}
	v := nextEvent(t, seller, func(f *protocol.Verdict) bool { return f.DisputeID == dispute })
	require.Equal(t, "disputant", v.Verdict)
	sc := nextEvent(t, seller, func(f *protocol.SettlementComplete) bool { return f.DisputeID == dispute })
	require.Contains(t, string(sc.RatingChanges), self)
	require.Equal(t, float64(1204), n.Market.Rating(self).Rating, "the disputant gains 4 (§13.7)")
	require.Equal(t, float64(1192), n.Market.Rating(seller.AgentID()).Rating, "the respondent loses 8")
}
