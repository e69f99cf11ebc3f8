package bridge_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/testnet"
)

// dmBothWays sends a DM from a to b and one back, and checks both arrive
// with the right author.
func dmBothWays(t *testing.T, a, b *testnet.Agent) {
	t.Helper()
	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "@" + b.ID, "content": "there"}))
	require.Equal(t, "@"+a.ID, expectMsg(t, b, "there").String("from"))
	require.NoError(t, b.Send(map[string]any{"type": "MSG", "to": "@" + a.ID, "content": "and back"}))
	require.Equal(t, "@"+b.ID, expectMsg(t, a, "and back").String("from"))
}

// The ends of a line of four nodes (each wired to the previous one only)
// exchange DMs: the nodes learn each other's addresses from the roster's
// heartbeats and dial directly.
func TestDirectMessagesAlongLine(t *testing.T) {
	net := startWired(t, 4, testnet.Line, func(_ int, cfg *testnet.NodeConfig) { cfg.Node.RateLimits = false })
	a := connect(t, net, 0, "alice", newKey(t))
	d := connect(t, net, 3, "dave", nil)
	waitListed(t, a, "#general", d.ID)
	waitListed(t, d, "#general", a.ID)
	dmBothWays(t, a, d)
}

// Node 3 of a line sits behind a firewall that lets only node 2 in or
// out: the others learn its addresses but cannot dial it, so its agent's
// DMs with an agent on node 0 travel hop by hop through nodes 1 and 2.
func TestDirectMessagesRoutedAroundRefusedConnection(t *testing.T) {
	net := startWired(t, 4, testnet.Line, func(i int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		if i == 3 {
			testnet.OnlyWired(cfg)
		}
	})
	a := connect(t, net, 0, "alice", newKey(t))
	d := connect(t, net, 3, "dave", newKey(t))
	waitListed(t, a, "#general", d.ID)
	waitListed(t, d, "#general", a.ID)
	dmBothWays(t, a, d)
	require.Equal(t, []string{net.Nodes[2].Host.ID()}, net.Nodes[3].Host.Peers(), "the DMs must not have gone direct")
}

// Two spokes of a star (each wired to the hub only) DM each other: by
// dialling each other at the addresses the mesh told them, or, when one
// spoke admits only the hub, through the hub.
func TestDirectMessagesBetweenSpokes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		firewalled bool
	}{{"direct", false}, {"through the hub", true}} {
		firewalled := tc.firewalled
		t.Run(tc.name, func(t *testing.T) {
			net := startWired(t, 4, testnet.Star, func(i int, cfg *testnet.NodeConfig) {
				cfg.Node.RateLimits = false
				if firewalled && i == 3 {
					testnet.OnlyWired(cfg)
				}
			})
			b := connect(t, net, 1, "bob", nil)
			d := connect(t, net, 3, "dave", newKey(t))
			waitListed(t, b, "#general", d.ID)
			waitListed(t, d, "#general", b.ID)
			dmBothWays(t, b, d)
			if firewalled {
				require.Equal(t, []string{net.Nodes[0].Host.ID()}, net.Nodes[3].Host.Peers())
				require.NotZero(t, net.Nodes[0].Host.Stats().Relayed)
			}
		})
	}
}
