package bridge

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/protocol"
)

// newTestBridge builds a bridge bound to a real node (on a leveldb data dir)
// and a real libp2p host, neither running: tests drive the bridge's own
// state machine (validators, ordering, hints) directly.
func newTestBridge(t *testing.T) *Bridge {
	t.Helper()
	ctx := context.Background()
	dd, err := node.OpenDataDir(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, dd.Close()) })
	pcfg := p2p.LocalConfig()
	pcfg.Key = dd.Key
	h, err := p2p.New(ctx, pcfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	ncfg := node.LocalConfig()
	ncfg.Key, ncfg.Store = dd.Key, dd.Store
	srv, err := node.New(ncfg)
	require.NoError(t, err)
	b := New(LocalConfig(), h)
	b.Bind(srv)
	t.Cleanup(b.stop)
	return b
}

// chanMsg is message seq of an ephemeral agent of origin on channel, as
// its envelope and as the inbound the reader hands to order.
func chanMsg(t *testing.T, channel string, epoch int64, seq uint64, content string) ([]byte, inbound) {
	t.Helper()
	f := protocol.MsgFrame{Type: protocol.TypeMsg, TS: int64(seq), From: "@ee00000000000001", FromName: "eph",
		To: channel, Content: content, MsgID: content}
	raw, err := json.Marshal(f)
	require.NoError(t, err)
	env, err := json.Marshal(chanEnvelope{Epoch: epoch, Seq: seq, Author: agentWire{ID: "ee00000000000001", Name: "eph"}, Frame: raw})
	require.NoError(t, err)
	return env, inbound{frame: f, raw: raw}
}

// contents lists the contents of a node's replay buffer for channel.
func contents(b *Bridge, channel string) []string {
	var out []string
	for _, f := range b.srv.History(channel) {
		out = append(out, f.Content)
	}
	return out
}
