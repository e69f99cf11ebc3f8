package bridge_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/testnet"
)

// waitCarried waits until node n carries channel (want) or not.
func waitCarried(t *testing.T, n *testnet.Node, channel string, want bool) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(n.Bridge.Carried(), channel) == want },
		20*time.Second, 20*time.Millisecond, "carried %s: want %v, carrying %v", channel, want, n.Bridge.Carried())
}

// A channel nobody is in any more, on this node or any other, is left
// after CarryGrace, by the node whose member left and by the node that
// relayed it for that member; a member who joins later has it carried
// again, both ways. The default channels are carried for good.
func TestIdleChannelIsLeftAndCarriedAgain(t *testing.T) {
	net := startMesh(t, 2, func(_ int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		cfg.Bridge.CarryGrace = 300 * time.Millisecond
	})
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", newKey(t))
	createChannel(t, a, "#x")
	for _, n := range net.Nodes {
		waitCarried(t, n, "#x", true) // node 1 relays it for alice
	}
	require.NoError(t, a.Send(map[string]any{"type": "LEAVE", "channel": "#x"}))
	for _, n := range net.Nodes {
		waitCarried(t, n, "#x", false)
		require.Contains(t, n.Bridge.Carried(), "#general")
	}

	joinWhenKnown(t, b, "#x")
	joinWhenKnown(t, a, "#x")
	waitListed(t, a, "#x", b.ID)
	waitListed(t, b, "#x", a.ID)
	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "#x", "content": "back"}))
	expectMsgWithin(t, b, "back", 10*time.Second)
	require.NoError(t, b.Send(map[string]any{"type": "MSG", "to": "#x", "content": "and forth"}))
	expectMsgWithin(t, a, "and forth", 10*time.Second)
}

// A node relays at most MaxRelayChannels channels for members elsewhere;
// the ones past it are counted, and its own members' channels are not
// capped.
func TestRelayedChannelsAreCapped(t *testing.T) {
	net := startMesh(t, 2, func(i int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		if i == 0 {
			cfg.Bridge.MaxRelayChannels = 1
		}
	})
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", newKey(t))
	for _, ch := range []string{"#a", "#b", "#c"} {
		createChannel(t, b, ch)
	}
	nd := net.Nodes[0]
	require.Eventually(t, func() bool { return nd.Bridge.Stats().RelayRefused >= 2 }, 20*time.Second, 20*time.Millisecond,
		"%+v", nd.Bridge.Stats())
	relayed := 0
	for _, ch := range []string{"#a", "#b", "#c"} {
		if slices.Contains(nd.Bridge.Carried(), ch) {
			relayed++
		}
	}
	require.Equal(t, 1, relayed, "carrying %v", nd.Bridge.Carried())

	joinWhenKnown(t, a, "#c") // a member here: carried whatever the cap
	waitCarried(t, nd, "#c", true)
}
