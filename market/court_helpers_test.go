package market_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// courtConfig is agentcourt with one transaction enough to arbitrate, so a
// test builds its arbiters from one real receipt each.
func courtConfig() market.CourtConfig {
	return market.CourtConfig{MinTransactions: 1}
}

// startCourtNet starts n wired nodes whose markets settle at once and run
// the given court.
func startCourtNet(t *testing.T, n int, court market.CourtConfig) *testnet.Net {
	t.Helper()
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: n, Dir: t.TempDir(),
		Tune: func(_ int, c *testnet.NodeConfig) {
			c.Node.RateLimits = false
			c.Market.MinAge = 0
			c.Market.Court = court
		}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	return net
}

// arbiters connects len(nodes) agents, agent i to net.Nodes[nodes[i]], and
// makes each eligible with one completed proposal with the next (pairs on
// one node settle there, others across), then waits until every node
// holds the receipts.
func arbiters(t *testing.T, net *testnet.Net, nodes ...int) []*party {
	t.Helper()
	out := make([]*party, len(nodes))
	for i, n := range nodes {
		out[i] = partyOn(t, net.Nodes[n], fmt.Sprintf("arb%d", i))
	}
	before := net.Nodes[0].Market.Table().Receipts()
	for i := 0; i < len(out); i += 2 {
		j := (i + 1) % len(out)
		settleAcross(t, out[i], out[j], fmt.Sprintf("qualify %d", i))
	}
	waitReceipts(t, net, before+(len(out)+1)/2)
	return out
}

// trade runs a proposal from a to b to acceptance and returns its ID.
func trade(t *testing.T, a, b *party) string {
	t.Helper()
	id := a.propose(t, b, "work for "+b.Name, 0)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	return id
}

// file sends DISPUTE_INTENT for proposal id with a fresh nonce and returns
// the dispute ID and the nonce.
func (p *party) file(t *testing.T, id, reason string) (dispute, nonce string) {
	t.Helper()
	nonce = fmt.Sprintf("%032x", time.Now().UnixNano())
	c := protocol.Commitment(nonce)
	require.NoError(t, p.Send(map[string]any{"type": "DISPUTE_INTENT", "proposal_id": id, "reason": reason,
		"commitment": c, "sig": p.sign(protocol.DisputeIntentSigningString(id, reason, c))}))
	ack := p.next(t, "DISPUTE_INTENT_ACK")
	require.Equal(t, id, ack.String("proposal_id"))
	return ack.String("dispute_id"), nonce
}

func (p *party) reveal(t *testing.T, id, nonce string) {
	t.Helper()
	require.NoError(t, p.Send(map[string]any{"type": "DISPUTE_REVEAL", "proposal_id": id, "nonce": nonce,
		"sig": p.sign(protocol.DisputeRevealSigningString(id, nonce))}))
}

func (p *party) acceptSeat(t *testing.T, dispute string) {
	t.Helper()
	require.NoError(t, p.Send(map[string]any{"type": "ARBITER_ACCEPT", "dispute_id": dispute,
		"sig": p.sign(protocol.ArbiterAcceptSigningString(dispute))}))
}

func (p *party) declineSeat(t *testing.T, dispute, reason string) {
	t.Helper()
	require.NoError(t, p.Send(map[string]any{"type": "ARBITER_DECLINE", "dispute_id": dispute, "reason": reason,
		"sig": p.sign(protocol.ArbiterDeclineSigningString(dispute, reason))}))
}

func (p *party) evidence(t *testing.T, dispute, statement string) {
	t.Helper()
	items := json.RawMessage(`[{"kind":"commit","label":"fix","value":"abc123"}]`)
	jsr, err := protocol.JSR(items)
	require.NoError(t, err)
	require.NoError(t, p.Send(map[string]any{"type": "EVIDENCE", "dispute_id": dispute, "items": items,
		"statement": statement, "sig": p.sign(protocol.EvidenceSigningString(dispute, jsr))}))
}

func (p *party) vote(t *testing.T, dispute, verdict string) {
	t.Helper()
	require.NoError(t, p.Send(map[string]any{"type": "ARBITER_VOTE", "dispute_id": dispute, "verdict": verdict,
		"reasoning": "because " + verdict, "sig": p.sign(protocol.ArbiterVoteSigningString(dispute, verdict))}))
}

// byID finds the agents named in ids ("@id").
func byID(t *testing.T, all []*party, ids []string) []*party {
	t.Helper()
	var out []*party
	for _, id := range ids {
		found := false
		for _, p := range all {
			if p.at() == id {
				out, found = append(out, p), true
			}
		}
		require.True(t, found, "%s is not an arbiter of the test", id)
	}
	return out
}

// rawField returns a frame's field as JSON.
func rawField(t *testing.T, f testnet.Frame, key string) json.RawMessage {
	t.Helper()
	raw := map[string]json.RawMessage{}
	require.NoError(t, json.Unmarshal(f.Raw, &raw))
	return raw[key]
}

// stringsOf returns a frame's array field of strings.
func stringsOf(t *testing.T, f testnet.Frame, key string) []string {
	t.Helper()
	var out []string
	require.NoError(t, json.Unmarshal(rawField(t, f, key), &out), "%s", f.Raw)
	return out
}
