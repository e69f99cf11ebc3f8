package bridge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/testnet"
)

// An agent that just connected on node 1 gets a DM from an agent on node 0
// that learned its ID out of band, before node 0's roster names it: node 0
// fetches the rosters before refusing, so it arrives (file chunks and
// proposals take the same SendDirect path). A made-up ID is still refused. Snapshots are rare here, so only the lookup
// can bring the agent back into node 0's roster in time.
func TestDirectToAgentNotInRosterYet(t *testing.T) {
	net := startWired(t, 2, testnet.Full, func(_ int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		cfg.Bridge.SnapshotEvery = time.Hour
	})
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", newKey(t))
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
