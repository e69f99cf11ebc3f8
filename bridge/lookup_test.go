package bridge_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/testnet"
)

// An agent that just connected on node 1 gets a DM from an agent on node 0
// that learned its ID out of band, before node 0's roster names it: node 0
// fetches the rosters before refusing, so it arrives (file chunks and
// proposals take the same SendDirect path). A made-up ID is still refused.
func TestDirectToAgentNotInRosterYet(t *testing.T) {
	net, a, b := startLookupPair(t)
	// The race as node 0 sees it: node 1 hosts bob, node 0 has not heard.
	waitListed(t, a, "#general", b.ID)
	net.Nodes[0].Server.RemoveRemote(b.ID, net.Nodes[1].Host.ID())
	_, _, known := net.Nodes[0].Server.RemoteHost(b.ID)
	require.False(t, known)

	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "@" + b.ID, "content": "welcome"}))
	f, err := a.Next(ctxFor(t, 15*time.Second), "MSG", "ERROR")
	require.NoError(t, err)
	require.Equal(t, "MSG", f.Type, "the DM was refused: %s", f.Raw)
	expectMsg(t, b, "welcome")

	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "@0000000000000000", "content": "nobody"}))
	e, err := a.Next(ctxFor(t, 15*time.Second), "ERROR")
	require.NoError(t, err)
	require.Equal(t, "AGENT_NOT_FOUND", e.String("code"))
}

// startLookupPair starts two nodes with alice on node 0 and bob on node 1.
// Snapshots are rare, so only a lookup brings an agent back into a
// roster in time.
func startLookupPair(t *testing.T) (*testnet.Net, *testnet.Agent, *testnet.Agent) {
	t.Helper()
	net := startWired(t, 2, testnet.Full, func(_ int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		cfg.Bridge.SnapshotEvery = time.Hour
	})
	return net, connect(t, net, 0, "alice", newKey(t)), connect(t, net, 1, "bob", newKey(t))
}

// The lookup round belongs to the bridge, not to the caller that started
// it: callers that give up while a patient one waits for the same round
// (here: twenty whose context ends while the round waits its turn) do not
// cut the round short, and the patient caller's DM is delivered.
func TestLookupOutlivesCallersThatGiveUp(t *testing.T) {
	net, a, b := startLookupPair(t)
	waitListed(t, a, "#general", b.ID)
	br, srv := net.Nodes[0].Bridge, net.Nodes[0].Server
	from, ok := srv.LocalAgent(a.ID)
	require.True(t, ok)
	frame, err := json.Marshal(map[string]any{"type": "MSG", "ts": 1, "from": "@" + a.ID, "from_name": "alice",
		"to": "@" + b.ID, "content": "patient"})
	require.NoError(t, err)

	// A round for nobody, so that the next one waits lookupSpacing: the
	// callers below all join the round after that one, which waits its
	// spacing too, and the impatient ones give up meanwhile.
	require.ErrorIs(t, br.SendDirect(ctxFor(t, 15*time.Second), from, "00000000000000f1", frame), node.ErrNoRoute)
	srv.RemoveRemote(b.ID, net.Nodes[1].Host.ID()) // as if its announcement were still on its way
	var wg sync.WaitGroup
	wg.Go(func() { _ = br.SendDirect(ctxFor(t, 15*time.Second), from, "00000000000000f2", frame) })
	for range 20 {
		wg.Go(func() {
			// Past the running round, within the next one's spacing.
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			_ = br.SendDirect(ctx, from, b.ID, frame)
		})
	}
	require.NoError(t, br.SendDirect(ctxFor(t, 15*time.Second), from, b.ID, frame))
	expectMsg(t, b, "patient")
	wg.Wait()
}

// A lookup that finds nobody is remembered for a moment: a burst of
// frames for a made-up ID costs one roster round, not one per frame.
func TestLookupMissIsRemembered(t *testing.T) {
	net := startWired(t, 2, testnet.Full, nil)
	a := connect(t, net, 0, "alice", newKey(t))
	br := net.Nodes[0].Bridge
	from, ok := net.Nodes[0].Server.LocalAgent(a.ID)
	require.True(t, ok)
	before := br.Stats().Lookups
	for range 5 {
		err := br.SendDirect(ctxFor(t, 15*time.Second), from, "00000000000000f3", []byte(`{}`))
		require.ErrorIs(t, err, node.ErrNoRoute)
	}
	require.Equal(t, before+1, br.Stats().Lookups)
}
