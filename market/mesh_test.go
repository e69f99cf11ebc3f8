package market_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

func startMesh(t *testing.T, n int) *testnet.Net {
	t.Helper()
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: n, Dir: t.TempDir(),
		Tune: func(_ int, c *testnet.NodeConfig) { c.Node.RateLimits = false; c.Market.MinAge = 0 }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	return net
}

// partyOn connects a keyed agent to node n.
func partyOn(t *testing.T, n *testnet.Node, name string) *party {
	t.Helper()
	e := &env{t: t, node: n}
	return e.party(name)
}

// settle runs a proposal between a and b on their node to completion (or a
// dispute by a).
func settle(t *testing.T, a, b *party, dispute bool) {
	t.Helper()
	id := a.propose(t, b, fmt.Sprintf("job for %s", b.Name), 0)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	if dispute {
		require.NoError(t, a.Send(map[string]any{"type": "DISPUTE", "proposal_id": id, "reason": "late",
			"sig": a.sign(protocol.DisputeSigningString(id, "late"))}))
		a.next(t, "DISPUTE")
		return
	}
	a.complete(t, id)
	a.next(t, "COMPLETE")
}

// Five nodes settle receipts on their own; one node is away meanwhile and
// learns them only by reconciliation when it comes back. Every node ends
// with byte-identical rating tables.
func TestRatingsConvergeAcrossFiveNodes(t *testing.T) {
	net := startMesh(t, 5)
	require.NoError(t, net.Nodes[4].Close()) // partitioned away

	settled := 0
	for i := range 4 {
		a := partyOn(t, net.Nodes[i], fmt.Sprintf("a%d", i))
		b := partyOn(t, net.Nodes[i], fmt.Sprintf("b%d", i))
		settle(t, a, b, false)
		settle(t, b, a, i%2 == 0) // the pair again: cooldown and disputes in the mix
		settled += 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, net.Restart(ctx, 4))
	require.NoError(t, net.WaitMesh(ctx, 30*time.Second))

	require.Eventually(t, func() bool {
		want := net.Nodes[0].Market.Table()
		if want.Receipts() != settled {
			return false
		}
		for _, n := range net.Nodes[1:] {
			if !bytes.Equal(want.Bytes(), n.Market.Table().Bytes()) {
				return false
			}
		}
		return true
	}, 45*time.Second, 100*time.Millisecond, "rating tables did not converge")
}

func TestSkillsAreSearchableOnEveryNode(t *testing.T) {
	net := startMesh(t, 3)
	a := partyOn(t, net.Nodes[0], "alice")
	skills := json.RawMessage(`[{"capability":"translation","rate":3,"currency":"TEST"}]`)
	jsr, err := protocol.JSR(skills)
	require.NoError(t, err)
	require.NoError(t, a.Send(map[string]any{"type": "REGISTER_SKILLS", "skills": skills,
		"sig": identity.Sign(a.priv, protocol.RegisterSkillsSigningString(jsr))}))
	a.next(t, "SKILLS_REGISTERED")

	c := partyOn(t, net.Nodes[2], "carol")
	require.Eventually(t, func() bool {
		require.NoError(t, c.Send(map[string]any{"type": "SEARCH_SKILLS", "query": map[string]any{"capability": "transl"}}))
		f := c.next(t, "SEARCH_RESULTS")
		return f.Data["total"] == float64(1)
	}, 20*time.Second, 100*time.Millisecond)
}

// proposeAcross sends a PROPOSAL from a to b on another node, retrying until
// the mesh knows b (the roster travels in the background), and returns its ID.
func proposeAcross(t *testing.T, a, b *party, task string, expires *float64) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		msg := map[string]any{"type": "PROPOSAL", "to": b.at(), "task": task,
			"sig": a.sign(protocol.ProposalSigningString(b.at(), task, nil, "", "", expires, nil))}
		if expires != nil {
			msg["expires"] = *expires
		}
		require.NoError(t, a.Send(msg))
		f, err := a.Next(ctxFor(t), "PROPOSAL", "ERROR")
		require.NoError(t, err)
		id = f.String("id")
		return f.Type == "PROPOSAL"
	}, 15*time.Second, 100*time.Millisecond)
	return id
}

// tradeAcross has a propose to b, who is on another node, b accept with
// stake and complete, and checks what each side sees; it returns the
// proposal's ID.
func tradeAcross(t *testing.T, a, b *party, task string, stake int64) string {
	t.Helper()
	id := proposeAcross(t, a, b, task, nil)
	require.Equal(t, id, b.next(t, "PROPOSAL").String("id"))
	b.accept(t, id, stake)
	require.Equal(t, id, b.next(t, "ACCEPT").String("proposal_id"), "the echo comes back through the proposer's node")
	require.Equal(t, "accepted", a.next(t, "ACCEPT").String("status"))
	b.complete(t, id) // the recipient completes
	for _, p := range []*party{a, b} {
		require.Equal(t, b.at(), p.next(t, "COMPLETE").String("completed_by"))
	}
	return id
}

// waitExpired waits for the server's notice that proposal id expired.
func waitExpired(t *testing.T, p *party, id string) {
	t.Helper()
	for p.next(t, "MSG").String("content") != "Proposal "+id+" expired" {
	}
}

// Each agent's stakes are escrowed on its own node: bob, on node 1, cannot
// stake the same rating on proposals held by nodes 0 and 2. The stake is
// released when its proposal expires (bob hears of the expiry from his own
// node) and when the proposal's node refuses the ACCEPT.
func TestStakesAreHeldOnTheAgentsOwnNode(t *testing.T) {
	net := startMesh(t, 3)
	a := partyOn(t, net.Nodes[0], "alice")
	b := partyOn(t, net.Nodes[1], "bob")
	c := partyOn(t, net.Nodes[2], "carol")
	bobs := net.Nodes[1].Market

	id1 := proposeAcross(t, a, b, "first", ptr(3.0))
	require.Equal(t, id1, b.next(t, "PROPOSAL").String("id"))
	id2 := proposeAcross(t, c, b, "second", nil)
	require.Equal(t, id2, b.next(t, "PROPOSAL").String("id"))

	b.accept(t, id1, 1000)
	require.EqualValues(t, 1000, b.next(t, "ACCEPT").Data["acceptor_stake"])
	a.next(t, "ACCEPT")
	status, held := bobs.EscrowStatus(id1)
	require.True(t, held, "bob's stake is escrowed on bob's node")
	require.Equal(t, ledger.EscrowActive, status)
	_, held = net.Nodes[0].Market.EscrowStatus(id1)
	require.False(t, held, "alice staked nothing; node 0 holds no escrow")

	b.accept(t, id2, 200)
	b.expectError(t, "INSUFFICIENT_REPUTATION", "Acceptor: Insufficient ELO. Available: 100, Requested: 200")

	waitExpired(t, a, id1) // from alice's node, which holds the proposal
	waitExpired(t, b, id1) // from bob's node, which holds his stake
	require.Eventually(t, func() bool {
		status, _ := bobs.EscrowStatus(id1)
		return status == ledger.EscrowReleased
	}, 5*time.Second, 20*time.Millisecond)

	// Accepting the expired proposal reserves bob's stake, node 0 refuses,
	// and the stake is returned.
	b.accept(t, id1, 50)
	b.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_PENDING")
	status, _ = bobs.EscrowStatus(id1)
	require.Equal(t, ledger.EscrowReleased, status)

	b.accept(t, id2, 200)
	require.EqualValues(t, 200, b.next(t, "ACCEPT").Data["acceptor_stake"])
	c.complete(t, id2)
	c.next(t, "COMPLETE")
	b.next(t, "COMPLETE")
	require.Eventually(t, func() bool {
		status, _ := bobs.EscrowStatus(id2)
		return status == ledger.EscrowSettled
	}, 15*time.Second, 20*time.Millisecond, "the receipt reaches bob's node and settles his stake")
}

// Two agents on different nodes negotiate, complete and dispute; the
// proposal lives on the proposer's node and the recipient's operations are
// forwarded there. Both nodes end with the same ratings.
func TestProposalsAcrossNodes(t *testing.T) {
	net := startMesh(t, 2)
	a := partyOn(t, net.Nodes[0], "alice")
	b := partyOn(t, net.Nodes[1], "bob")
	id := tradeAcross(t, a, b, "remote job", 5)
	// Wrong party and wrong state are answered by the proposal's node.
	b.accept(t, id, 0)
	b.expectError(t, "INVALID_PROPOSAL", "PROPOSAL_NOT_PENDING")

	// A second proposal, disputed by the recipient from its own node.
	id2 := proposeAcross(t, a, b, "second remote job", nil)
	require.Equal(t, id2, b.next(t, "PROPOSAL").String("id"))
	b.accept(t, id2, 0)
	a.next(t, "ACCEPT")
	b.next(t, "ACCEPT")
	require.NoError(t, b.Send(map[string]any{"type": "DISPUTE", "proposal_id": id2, "reason": "scope changed",
		"sig": b.sign(protocol.DisputeSigningString(id2, "scope changed"))}))
	for _, p := range []*party{a, b} {
		require.Equal(t, b.at(), p.next(t, "DISPUTE").String("disputed_by"))
	}

	require.Eventually(t, func() bool {
		return bytes.Equal(net.Nodes[0].Market.Table().Bytes(), net.Nodes[1].Market.Table().Bytes()) &&
			net.Nodes[1].Market.Table().Receipts() == 2
	}, 15*time.Second, 50*time.Millisecond)
	// +8 each for the completion; then alice, at fault, loses 16 and bob
	// gains 8 (§12.1; K = 32 for both, amount 0).
	require.EqualValues(t, 1208+8, net.Nodes[1].Market.Rating(b.at()).Rating)
	require.EqualValues(t, 1208-16, net.Nodes[0].Market.Rating(a.at()).Rating)
}

// The ends of a line of four nodes trade: the last node lets only its
// neighbour connect, so the proposal, the acceptance, the completion and
// their echoes all travel hop by hop through the two nodes between.
func TestProposalsAlongFirewalledLine(t *testing.T) {
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 4, Dir: t.TempDir(), Topology: testnet.Line,
		Tune: func(i int, c *testnet.NodeConfig) {
			c.Node.RateLimits, c.Market.MinAge = false, 0
			if i == 3 {
				testnet.OnlyWired(c)
			}
		}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	a := partyOn(t, net.Nodes[0], "alice")
	d := partyOn(t, net.Nodes[3], "dave")

	tradeAcross(t, a, d, "job across the line", 0)
	require.Eventually(t, func() bool {
		return net.Nodes[3].Market.Table().Receipts() == 1 && net.Nodes[0].Market.Table().Receipts() == 1
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{net.Nodes[2].Host.ID()}, net.Nodes[3].Host.Peers(), "the operations must not have gone direct")
}
