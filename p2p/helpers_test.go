package p2p

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testLogger logs to the test's output at Info, so a failing test shows the
// lifecycle and every Warn.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(newCleanupWriter(t), &slog.HandlerOptions{Level: testLogLevel}))
}

// newKey returns a fresh Ed25519 key pair.
func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	return pub, priv
}

// newHost starts a loopback host with LocalConfig, adjusted by mods, and
// closes it when the test ends.
func newHost(t *testing.T, mods ...func(*Config)) *Host {
	t.Helper()
	_, priv := newKey(t)
	cfg := LocalConfig()
	cfg.Key = priv
	cfg.Logger = testLogger(t)
	for _, m := range mods {
		m(&cfg)
	}
	h, err := New(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// runHost runs h.Run until the test ends and checks that it returned nil.
func runHost(t *testing.T, h *Host) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-errc)
	})
}

// connect dials b from a.
func connect(t *testing.T, a, b *Host) {
	t.Helper()
	require.NoError(t, a.Connect(t.Context(), b.Addrs()[0]))
}

// line builds n hosts connected in a line: h[0]-h[1]-...-h[n-1].
func line(t *testing.T, n int, mods ...func(*Config)) []*Host {
	t.Helper()
	hs := make([]*Host, n)
	for i := range hs {
		hs[i] = newHost(t, mods...)
	}
	for i := 1; i < n; i++ {
		connect(t, hs[i-1], hs[i])
	}
	return hs
}

// join joins topic on every host and subscribes on each.
func join(t *testing.T, hs []*Host, topic string) ([]*Topic, []*Subscription) {
	t.Helper()
	ts := make([]*Topic, len(hs))
	ss := make([]*Subscription, len(hs))
	for i, h := range hs {
		tp, err := h.Join(topic)
		require.NoError(t, err)
		s, err := tp.Subscribe()
		require.NoError(t, err)
		ts[i], ss[i] = tp, s
		t.Cleanup(s.Cancel)
	}
	return ts, ss
}

// waitTopicPeers waits until each topic sees its line neighbours.
func waitTopicPeers(t *testing.T, hs []*Host, ts []*Topic) {
	t.Helper()
	require.Eventually(t, func() bool {
		for i := range hs {
			for _, j := range []int{i - 1, i + 1} {
				if j < 0 || j >= len(hs) {
					continue
				}
				if !slices.Contains(ts[i].Peers(), hs[j].ID()) {
					return false
				}
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "topic peers never formed")
}

// collector reads a subscription on its own goroutine (owned by the test:
// stop waits for it) and records every message.
type collector struct {
	mu     sync.Mutex
	msgs   []*Message
	cancel context.CancelFunc
	done   chan struct{}
}

func collect(t *testing.T, s *Subscription) *collector {
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			m, err := s.Next(ctx)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *collector) stop() {
	c.cancel()
	<-c.done
}

// count returns how many collected messages have data starting with prefix.
func (c *collector) count(prefix string) int { return c.countWhere(prefix, true) }

// countRemote is count without the messages the collector's host published.
func (c *collector) countRemote(prefix string) int { return c.countWhere(prefix, false) }

func (c *collector) countWhere(prefix string, local bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if strings.HasPrefix(string(m.Data), prefix) && (local || !m.Local) {
			n++
		}
	}
	return n
}

// find returns the collected messages whose data equals data.
func (c *collector) find(data string) []*Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Message
	for _, m := range c.msgs {
		if string(m.Data) == data {
			out = append(out, m)
		}
	}
	return out
}

// warm publishes probes on pub until c has received one from another host
// (its own host's probes, if it published any, do not count), so that the
// mesh path from pub's host to c's is known to carry messages.
func warm(t *testing.T, pub *Topic, c *collector) {
	t.Helper()
	require.Eventually(t, func() bool {
		if err := pub.Publish(t.Context(), []byte("warm")); err != nil {
			return false
		}
		return c.countRemote("warm") > 0
	}, 10*time.Second, 50*time.Millisecond, "mesh never carried a probe")
}

var testLogLevel = slog.LevelInfo

// cleanupWriter writes to the test's output until the test's cleanup runs,
// then drops writes: libp2p's pubsub loop logs its own shutdown after Close
// returns, and the testing package panics on output after a test ends.
type cleanupWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func newCleanupWriter(t testing.TB) *cleanupWriter {
	cw := &cleanupWriter{w: t.Output()}
	t.Cleanup(func() {
		cw.mu.Lock()
		cw.done = true
		cw.mu.Unlock()
	})
	return cw
}

func (cw *cleanupWriter) Write(p []byte) (int, error) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.done {
		return len(p), nil
	}
	return cw.w.Write(p)
}
