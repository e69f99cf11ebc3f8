package bridge

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/p2p"
)

// localHost starts a loopback p2p host, closed with the test.
func localHost(t *testing.T) *p2p.Host {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	cfg := p2p.LocalConfig()
	cfg.Key = priv
	h, err := p2p.New(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// TestStaleHeartbeatAddressesIgnored: a heartbeat older than one already
// applied (gossip reordered it, or a peer replayed it) does not teach its
// addresses; a current one does.
func TestStaleHeartbeatAddressesIgnored(t *testing.T) {
	a, z := localHost(t), localHost(t)
	const echo = "/agentchat/test/echo/1"
	z.HandleRequest(echo, func(_ context.Context, _ string, req []byte) ([]byte, error) { return req, nil })
	b := New(LocalConfig(), a)
	t.Cleanup(func() { b.stop(); b.wg.Wait() })

	b.applyRoster(z.ID(), rosterEnvelope{Epoch: 1, Seq: 5, Kind: kindBeat})
	b.applyRoster(z.ID(), rosterEnvelope{Epoch: 1, Seq: 3, Kind: kindBeat, Addrs: z.Addrs()})
	_, err := a.Request(t.Context(), z.ID(), echo, []byte("x"))
	require.ErrorIs(t, err, p2p.ErrNoRoute, "the stale heartbeat's addresses were learned")

	b.applyRoster(z.ID(), rosterEnvelope{Epoch: 1, Seq: 5, Kind: kindBeat, Addrs: z.Addrs()})
	resp, err := a.Request(t.Context(), z.ID(), echo, []byte("x"))
	require.NoError(t, err)
	require.Equal(t, "x", string(resp))
}
