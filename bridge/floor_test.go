package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/testnet"
)

func noLimits(_ int, cfg *testnet.NodeConfig) { cfg.Node.RateLimits = false }

// waitChannelMesh returns once each agent has heard a message from every
// other in channel: every node's subscription to the channel's topic then
// reaches the others', so a record published next is not lost to a mesh
// still forming.
func waitChannelMesh(t *testing.T, channel string, agents ...*testnet.Agent) {
	t.Helper()
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	for _, a := range agents {
		waitListed(t, a, channel, ids...)
	}
	for i, a := range agents {
		probe := fmt.Sprintf("mesh probe from %s", a.Name)
		require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": channel, "content": probe}))
		for j, other := range agents {
			if j != i {
				expectMsg(t, other, probe)
			}
		}
	}
}

func claim(t *testing.T, a *testnet.Agent, msgID string, startedAt float64) {
	t.Helper()
	require.NoError(t, a.Send(map[string]any{"type": "RESPONDING_TO", "msg_id": msgID, "channel": "#general", "started_at": startedAt}))
}

// expectClaimed waits for a FLOOR_CLAIMED naming holder and checks it.
func expectClaimed(t *testing.T, a *testnet.Agent, msgID string, holder *testnet.Agent, startedAt float64) {
	t.Helper()
	ctx := ctxFor(t, 20*time.Second)
	for {
		f, err := a.Next(ctx, "FLOOR_CLAIMED")
		require.NoError(t, err, "%s waiting for FLOOR_CLAIMED by %s", a.Name, holder.Name)
		if f.String("holder") != "@"+holder.ID || f.String("msg_id") != msgID {
			continue
		}
		require.Equal(t, "#general", f.String("channel"))
		require.Equal(t, holder.Name, f.String("holder_name"))
		require.EqualValues(t, startedAt, f.Data["started_at"])
		return
	}
}

// expectYield waits for a YIELD and checks who holds the floor and why.
func expectYield(t *testing.T, a *testnet.Agent, msgID string, holder *testnet.Agent, startedAt float64, reasons ...string) {
	t.Helper()
	f, err := a.Next(ctxFor(t, 20*time.Second), "YIELD")
	require.NoError(t, err, "%s waiting for YIELD to %s", a.Name, holder.Name)
	require.Equal(t, msgID, f.String("msg_id"))
	require.Equal(t, "#general", f.String("channel"))
	require.Equal(t, "@"+holder.ID, f.String("holder"), "%s yields to the wrong holder", a.Name)
	require.EqualValues(t, startedAt, f.Data["holder_started_at"])
	require.Contains(t, reasons, f.String("reason"))
}

// expectDisplaced checks what a displaced holder gets, in either order:
// YIELD to the new holder and the new holder's FLOOR_CLAIMED.
func expectDisplaced(t *testing.T, a *testnet.Agent, msgID string, holder *testnet.Agent, startedAt float64) {
	t.Helper()
	ctx := ctxFor(t, 20*time.Second)
	var yielded, claimed bool
	for !yielded || !claimed {
		f, err := a.Next(ctx, "YIELD", "FLOOR_CLAIMED")
		require.NoError(t, err, "%s waiting to yield to %s (yield %v, claimed %v)", a.Name, holder.Name, yielded, claimed)
		require.Equal(t, msgID, f.String("msg_id"))
		require.Equal(t, "@"+holder.ID, f.String("holder"), "%s: %s", a.Name, f.Raw)
		if f.Type == "YIELD" {
			require.EqualValues(t, startedAt, f.Data["holder_started_at"])
			require.Equal(t, earlierStart, f.String("reason"))
			yielded = true
		} else {
			require.EqualValues(t, startedAt, f.Data["started_at"])
			claimed = true
		}
	}
}

const (
	claimedFirst = "Another agent claimed first"
	earlierStart = "Earlier started_at timestamp"
)

// A claim granted on one node is seen on every node and decides claims
// made on the others by the §9.5 rule; the holder's next message in the
// channel releases it everywhere.
func TestFloorClaimsAcrossNodes(t *testing.T) {
	net := startMesh(t, 3, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", nil)
	c := connect(t, net, 2, "carol", newKey(t))
	waitChannelMesh(t, "#general", a, b, c)

	claim(t, a, "1-first", 100)
	expectClaimed(t, b, "1-first", a, 100)
	expectClaimed(t, c, "1-first", a, 100)

	claim(t, c, "1-first", 200) // later, on another node: denied there
	expectYield(t, c, "1-first", a, 100, claimedFirst)

	claim(t, b, "1-first", 50) // earlier: granted, the holder on node 0 yields
	expectDisplaced(t, a, "1-first", b, 50)
	expectClaimed(t, c, "1-first", b, 50)

	// Bob replies: his claim is released on every node that gets the
	// reply, so a later claim is granted.
	require.NoError(t, b.Send(map[string]any{"type": "MSG", "to": "#general", "content": "my reply"}))
	expectMsg(t, a, "my reply")
	expectMsg(t, c, "my reply")
	claim(t, c, "1-first", 300)
	expectClaimed(t, a, "1-first", c, 300)
	expectClaimed(t, b, "1-first", c, 300)

	// Carol leaves: her claim goes with her on every node.
	require.NoError(t, c.Close())
	for _, other := range []*testnet.Agent{a, b} {
		expectLeft(t, other, c)
	}
	claim(t, a, "1-first", 400)
	expectClaimed(t, b, "1-first", a, 400)
}

func expectLeft(t *testing.T, a, gone *testnet.Agent) {
	t.Helper()
	ctx := ctxFor(t, 20*time.Second)
	for {
		f, err := a.Next(ctx, "AGENT_LEFT")
		require.NoError(t, err, "%s waiting for %s to leave", a.Name, gone.Name)
		if f.String("agent") == "@"+gone.ID {
			return
		}
	}
}

// A claim ends FloorTTL after its grant on every node: once its holder's
// node lets a later claim in, the node it came from does too.
func TestFloorClaimExpiresOnEveryNode(t *testing.T) {
	net := startMesh(t, 2, func(_ int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		// A claim that reaches a node more than FloorTTL after its grant
		// has expired there: the TTL leaves room for gossip on a loaded
		// machine.
		cfg.Node.FloorTTL = 3 * time.Second
	})
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", nil)
	waitChannelMesh(t, "#general", a, b)

	claim(t, a, "4-ttl", 100)
	expectClaimed(t, b, "4-ttl", a, 100)
	deadline := time.Now().Add(20 * time.Second)
	for granted := false; !granted; {
		claim(t, b, "4-ttl", 500)
		require.NoError(t, b.Send(map[string]any{"type": "PING"})) // answered after the claim is decided
		f := nextFrame(t, b, "YIELD", "PONG")
		if granted = f.Type == "PONG"; !granted {
			require.Equal(t, "@"+a.ID, f.String("holder"))
			nextFrame(t, b, "PONG")
			require.True(t, time.Now().Before(deadline), "alice's claim never expired on node 1")
			time.Sleep(50 * time.Millisecond) // polling the node's clock, not waiting for an event
		}
	}
	expectClaimed(t, a, "4-ttl", b, 500)
}

// A claim granted on node 1 is revoked when an earlier claim granted on
// node 0 arrives: its holder gets YIELD and the members FLOOR_CLAIMED for
// the earlier one, as when both are made on one node.
func TestRemoteEarlierClaimRevokesLocalOne(t *testing.T) {
	net := startMesh(t, 3, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", newKey(t))
	w := connect(t, net, 1, "watcher", nil)
	waitChannelMesh(t, "#general", a, b, w)

	claim(t, b, "2-second", 2000)
	expectClaimed(t, a, "2-second", b, 2000) // node 0 holds bob's claim
	expectClaimed(t, w, "2-second", b, 2000)
	claim(t, a, "2-second", 1000)
	expectDisplaced(t, b, "2-second", a, 1000)
	expectClaimed(t, w, "2-second", a, 1000)
}

// A node that joins the mesh after a claim was granted does not know it
// and grants a worse one; the holder's node answers it with the holder's
// claim again, and the late node's claimant yields.
func TestLateNodeLearnsTheHolder(t *testing.T) {
	net := startMesh(t, 2, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	w := connect(t, net, 1, "watcher", nil)
	waitChannelMesh(t, "#general", a, w)
	claim(t, a, "5-late", 100)
	expectClaimed(t, w, "5-late", a, 100)

	late := startLateNode(t, net, 1, noLimits)
	c, err := testnet.Dial(ctxFor(t, 10*time.Second), late.WS())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = c.Identify(ctxFor(t, 10*time.Second), "carol", newKey(t))
	require.NoError(t, err)
	// Not alice: her message would release her claim. The paths to and
	// from the late node run through the watcher's.
	waitChannelMesh(t, "#general", w, c)
	claim(t, c, "5-late", 500) // granted on the late node, which never saw alice's
	expectDisplaced(t, c, "5-late", a, 100)
}

// Two agents on two nodes claim the same message at once: whichever node
// decides first, the mesh ends with one holder, the lower claim (equal
// started_at: the lower agent ID), on every node. In the line the two
// are at the ends and the watcher's node between relays both claims.
func TestCompetingClaimsHaveOneHolder(t *testing.T) {
	for _, topo := range []struct {
		topo testnet.Topology
		on   [3]int // the nodes of the two claimants and the watcher
	}{{testnet.Full, [3]int{0, 1, 2}}, {testnet.Line, [3]int{0, 2, 1}}} {
		for _, tc := range []struct {
			name   string
			at     [2]float64 // started_at of the two claimants
			winner int        // -1: the lower ID
		}{
			{"same start", [2]float64{1000, 1000}, -1},
			{"second earlier", [2]float64{1000, 999}, 1},
			{"first earlier", [2]float64{999, 1000}, 0},
		} {
			t.Run(string(topo.topo)+"/"+tc.name, func(t *testing.T) {
				competeForFloor(t, topo.topo, topo.on, tc.at, tc.winner)
			})
		}
	}
}

// competeForFloor has agents on nodes on[0] and on[1] claim one message
// with started_at at, and checks that claimant win (-1: the lower ID)
// holds the floor on every node, the watcher's on on[2] included.
func competeForFloor(t *testing.T, topo testnet.Topology, on [3]int, at [2]float64, win int) {
	t.Helper()
	net := startWired(t, 3, topo, noLimits)
	agents := []*testnet.Agent{connect(t, net, on[0], "alice", newKey(t)), connect(t, net, on[1], "bob", newKey(t))}
	w := connect(t, net, on[2], "watcher", nil)
	waitChannelMesh(t, "#general", agents[0], agents[1], w)
	if win < 0 {
		win = 0
		if agents[1].ID < agents[0].ID {
			win = 1
		}
	}
	winner, loser := agents[win], agents[1-win]

	claim(t, agents[0], "3-race", at[0])
	claim(t, agents[1], "3-race", at[1])

	expectClaimed(t, w, "3-race", winner, at[win])
	expectYield(t, loser, "3-race", winner, at[win], claimedFirst, earlierStart)
	// Every node now holds the winner's claim: a later one is denied on
	// each, naming the winner.
	for _, a := range []*testnet.Agent{winner, loser, w} {
		claim(t, a, "3-race", 5000)
		expectYield(t, a, "3-race", winner, at[win], claimedFirst)
	}
}

// TYPING reaches the channel's members on every node, through a node in
// between, and takes no place in the channel's message order.
func TestTypingAcrossNodes(t *testing.T) {
	net := startWired(t, 3, testnet.Line, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", nil)
	c := connect(t, net, 2, "carol", nil)
	waitChannelMesh(t, "#general", a, b, c)

	require.NoError(t, a.Send(map[string]any{"type": "TYPING", "channel": "#general"}))
	for _, other := range []*testnet.Agent{b, c} {
		f, err := other.Next(ctxFor(t, 20*time.Second), "TYPING")
		require.NoError(t, err)
		require.Equal(t, "@"+a.ID, f.String("from"))
		require.Equal(t, "alice", f.String("from_name"))
		require.Equal(t, "#general", f.String("channel"))
	}
	// The next message is delivered in sequence: the TYPING used no
	// number, so no node waits for one or counts a loss.
	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "#general", "content": "after typing"}))
	expectMsg(t, c, "after typing")
	for i, n := range net.Nodes {
		require.Zero(t, n.Bridge.Stats().Lost, "node %d", i)
	}
}

// A claim granted on a node that is not in the channel topic's mesh yet
// is answered straight to that node, not only on the topic: the holder's
// node sends its better claim to the granting node over the floor
// protocol. The rogue here never subscribes to the topic, so the request
// is the only way it can learn of alice's claim; a better claim it sends
// the same way takes the floor, and records it may not send are refused.
func TestFloorClaimIsAssertedToTheRivalsNode(t *testing.T) {
	net := startMesh(t, 1, noLimits)
	a := connect(t, net, 0, "alice", newKey(t))
	got := make(chan []byte, 4)
	r := startRogue(t, net, func(h *p2p.Host) {
		h.HandleRequest("/agentchat/floor/1", func(_ context.Context, _ string, req []byte) ([]byte, error) {
			got <- req
			return []byte("ok"), nil
		})
	})
	claim(t, a, "6-direct", 100)
	require.NoError(t, a.Send(map[string]any{"type": "PING"})) // answered after the claim is granted
	nextFrame(t, a, "PONG")

	ghost := map[string]any{"id": "zz000000", "name": "ghost"} // ephemeral: the rogue may host it
	request := func(env map[string]any) string {
		t.Helper()
		data, err := json.Marshal(map[string]any{"channel": "#general", "record": env})
		require.NoError(t, err)
		resp, err := r.host.Request(ctxFor(t, 10*time.Second), net.Nodes[0].Host.ID(), "/agentchat/floor/1", data)
		require.NoError(t, err)
		return string(resp)
	}
	ghostClaim := func(startedAt float64) map[string]any {
		return map[string]any{"k": "floor", "e": 1, "s": 0, "a": ghost, "f": map[string]any{"type": "FLOOR_CLAIMED",
			"ts": time.Now().UnixMilli(), "msg_id": "6-direct", "channel": "#general", "holder": "@zz000000",
			"holder_name": "ghost", "started_at": startedAt}}
	}

	require.Equal(t, "ok", request(ghostClaim(500))) // worse than alice's: answered with hers
	var back struct {
		Channel string          `json:"channel"`
		Record  json.RawMessage `json:"record"`
	}
	select {
	case req := <-got:
		require.NoError(t, json.Unmarshal(req, &back))
	case <-ctxFor(t, 10*time.Second).Done():
		t.Fatal("alice's node did not assert her claim to the rogue")
	}
	require.Equal(t, "#general", back.Channel)
	var env struct {
		Kind   string `json:"k"`
		Author struct {
			ID string `json:"id"`
		} `json:"a"`
		Frame map[string]any `json:"f"`
	}
	require.NoError(t, json.Unmarshal(back.Record, &env))
	require.Equal(t, "floor", env.Kind)
	require.Equal(t, a.ID, env.Author.ID)
	require.Equal(t, "@"+a.ID, env.Frame["holder"])
	require.EqualValues(t, 100, env.Frame["started_at"])

	stolen := r.stolenRecord(t, net.Nodes[0], a.ID)
	typing := map[string]any{"k": "typing", "e": 1, "s": 0, "a": ghost,
		"f": map[string]any{"type": "TYPING", "ts": 1, "from": "@zz000000", "from_name": "ghost", "channel": "#general"}}
	forged := ghostClaim(10)
	forged["a"] = stolen // alice is not the rogue's agent
	forged["f"].(map[string]any)["holder"] = "@" + a.ID
	for _, env := range []map[string]any{typing, forged} {
		require.Contains(t, request(env), "refused")
	}
	resp, err := r.host.Request(ctxFor(t, 10*time.Second), net.Nodes[0].Host.ID(), "/agentchat/floor/1", []byte("{not json"))
	require.NoError(t, err)
	require.Contains(t, string(resp), "refused")

	require.Equal(t, "ok", request(ghostClaim(50))) // better: alice yields to the ghost
	f := nextFrame(t, a, "YIELD")
	require.Equal(t, "@zz000000", f.String("holder"))
	require.EqualValues(t, 50, f.Data["holder_started_at"])
	select {
	case req := <-got:
		t.Fatalf("asserted a claim that lost: %s", req)
	default:
	}
}
