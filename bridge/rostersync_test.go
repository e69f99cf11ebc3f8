package bridge_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/testnet"
)

// TestGossipGapsStartBoundedFetches: new origins on the roster topic, each
// a gap in what the node knows, start at most four roster fetches at once;
// the others are counted and left to their origins' snapshots.
func TestGossipGapsStartBoundedFetches(t *testing.T) {
	net := startMesh(t, 1, func(_ int, cfg *testnet.NodeConfig) { cfg.Bridge.NodeTTL = time.Hour })
	const rogues, slots = 7, 4
	var hold atomic.Bool
	var asked, held atomic.Int32
	release := make(chan struct{})
	rs := make([]*rogue, rogues)
	for i := range rs {
		rs[i] = startRogue(t, net, func(h *p2p.Host) {
			h.HandleRequest("/agentchat/roster/1", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
				if !hold.Load() {
					asked.Add(1) // the fetch a new connection starts
					return nil, errors.New("not now")
				}
				held.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil, errors.New("released")
			})
		})
	}
	require.Eventually(t, func() bool { return asked.Load() >= rogues }, 10*time.Second, 10*time.Millisecond,
		"the node fetches each rogue's roster when it connects")
	hold.Store(true)
	defer close(release)
	for _, r := range rs {
		r.publish(t, "agentchat/1/roster", map[string]any{"e": 1, "s": 5, "k": "hb"})
	}
	b := net.Nodes[0].Bridge
	require.Eventually(t, func() bool {
		return held.Load() == slots && b.Stats().SyncsDeferred == rogues-slots
	}, 10*time.Second, 10*time.Millisecond, "never four fetches held and three deferred")
	require.EqualValues(t, slots, held.Load())
}
