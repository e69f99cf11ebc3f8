package client

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoff(t *testing.T) {
	c := &Client{opts: Options{ReconnectMin: 2 * time.Second, ReconnectMax: 60 * time.Second}}
	for _, tc := range []struct {
		n    int
		base time.Duration
	}{{1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {5, 32 * time.Second}, {6, 60 * time.Second}, {100, 60 * time.Second}} {
		for range 20 {
			d := c.backoff(tc.n)
			require.GreaterOrEqual(t, d, tc.base, "attempt %d", tc.n)
			require.Less(t, d, tc.base+time.Second, "attempt %d: jitter stays under ReconnectMin/2", tc.n)
		}
	}
}

func TestPacer(t *testing.T) {
	p := newPacer(4, 100*time.Millisecond)
	ctx := context.Background()
	start := time.Now()
	require.NoError(t, p.reserve(ctx, 2))
	require.NoError(t, p.reserve(ctx, 2))
	require.Less(t, time.Since(start), 50*time.Millisecond, "the first 4 frames go at once")
	require.NoError(t, p.reserve(ctx, 1))
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "the 5th waits for the window")

	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	require.NoError(t, p.reserve(ctx, 3))
	require.ErrorIs(t, p.reserve(short, 1), context.DeadlineExceeded, "a waiter gives up with its context")
	require.Nil(t, newPacer(-1, time.Second), "negative limit: no pacing")
	require.NoError(t, (*pacer)(nil).reserve(ctx, 100))
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://localhost:6667":   "ws://localhost:6667",
		"wss://node.example/ws": "wss://node.example/ws",
		"http://127.0.0.1:1":    "ws://127.0.0.1:1",
		"https://node.example":  "wss://node.example",
	} {
		got, err := NormalizeURL(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"localhost:6667", "ftp://x", "ws://", ":"} {
		_, err := NormalizeURL(bad)
		require.Error(t, err, bad)
	}
}
