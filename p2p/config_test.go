package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewRejectsBadConfig(t *testing.T) {
	_, priv := newKey(t)
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want error
	}{
		{"no key", func(c *Config) { c.Key = nil }, ErrBadKey},
		{"short key", func(c *Config) { c.Key = priv[:32] }, ErrBadKey},
		{"bad listen", func(c *Config) { c.Listen = []string{"nonsense"} }, ErrBadAddr},
		{"peer without id", func(c *Config) { c.Peers = []string{"/ip4/127.0.0.1/tcp/1"} }, ErrBadAddr},
		{"watermarks", func(c *Config) { c.ConnLow, c.ConnHigh = 10, 5 }, ErrBadConfig},
		{"negative queue", func(c *Config) { c.QueueSize = -1 }, ErrBadConfig},
		{"backoff order", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Minute, time.Second }, ErrBadConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := LocalConfig()
			cfg.Key = priv
			tc.mod(&cfg)
			h, err := New(t.Context(), cfg)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, h)
		})
	}
}

func TestDefaults(t *testing.T) {
	d := DefaultConfig()
	require.Equal(t, DefaultQueueSize, d.QueueSize)
	require.Equal(t, 4<<20, d.MaxMessageSize)
	require.Contains(t, d.Listen, "/ip4/0.0.0.0/tcp/4001")
	require.Contains(t, d.Listen, "/ip4/0.0.0.0/udp/4001/quic-v1")

	l := LocalConfig()
	require.False(t, l.MDNS || l.NATPortMap || l.Relay)
	require.Less(t, l.ReconnectMax, d.ReconnectMax)

	_, priv := newKey(t)
	r, err := Config{Key: priv}.check()
	require.NoError(t, err)
	require.Equal(t, DefaultQueueSize, r.QueueSize)
	require.Equal(t, DefaultMaxMessageSize, r.MaxMessageSize)
	require.NotNil(t, r.Logger)
}

func TestLifecycle(t *testing.T) {
	h := newHost(t)
	ctx := t.Context()

	// Run twice at once is refused; Run after Close is refused.
	runCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- h.Run(runCtx) }()
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.running
	}, 5*time.Second, 5*time.Millisecond)
	require.ErrorIs(t, h.Run(ctx), ErrRunning)
	stop()
	require.NoError(t, <-errc)

	require.NoError(t, h.Close())
	require.NoError(t, h.Close())
	require.ErrorIs(t, h.Run(ctx), ErrClosed)
	_, err := h.Join("x")
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, h.AddPeer("/ip4/127.0.0.1/tcp/1/p2p/"+h.ID()), ErrClosed)
}

func TestCloseStopsRun(t *testing.T) {
	h := newHost(t)
	errc := make(chan error, 1)
	go func() { errc <- h.Run(t.Context()) }()
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.running
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.Close())
	require.NoError(t, <-errc)
}
