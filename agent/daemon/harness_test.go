package daemon_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// waitTimeout bounds every wait for a condition; on loopback it only
// decides how long a failure takes.
const waitTimeout = 15 * time.Second

// testNode is a real node on a loopback port with a real data dir.
type testNode = testnet.Server

// noLimits turns the node's per-connection rate limits off.
func noLimits(c *node.Config) { c.RateLimits = false }

// startNode starts a node on a fresh data dir.
func startNode(tb testing.TB, opts ...func(*node.Config)) *testNode {
	tb.Helper()
	return startNodeAt(tb, tb.TempDir(), "127.0.0.1:0", opts...)
}

// startNodeAt starts a node on data dir dir listening on addr, with server
// notices off so the inbox holds only what tests send. It is stopped in
// cleanup.
func startNodeAt(tb testing.TB, dir, addr string, opts ...func(*node.Config)) *testNode {
	tb.Helper()
	quiet := func(c *node.Config) { c.Notices = false }
	n, err := testnet.StartServer(dir, addr, testLogger(tb), append([]func(*node.Config){quiet}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { stop(tb, n) })
	return n
}

// stop shuts n down (agents get 1001) and closes its data dir; it is
// idempotent.
func stop(tb testing.TB, n *testNode) {
	if err := n.Stop(); err != nil {
		tb.Error(err)
	}
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newIdentity(tb testing.TB, name string) *identity.File {
	tb.Helper()
	f, err := identity.New(name)
	require.NoError(tb, err)
	return f
}

// testConfig is a daemon config for a node without rate limits: quick
// polls and reconnects, no spacing or pacing.
func testConfig(tb testing.TB, n *testNode) daemon.Config {
	return daemon.Config{
		URL: n.URL, BaseDir: tb.TempDir(), Instance: "test", Identity: newIdentity(tb, "daemon"),
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		PollInterval: 50 * time.Millisecond, MsgSpacing: -1, RateLimit: -1,
		LogLevel: slog.LevelDebug, Logger: testLogger(tb),
	}
}

// running is a daemon started by startDaemon.
type running struct {
	D      *daemon.Daemon
	Cfg    daemon.Config
	Dir    string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startDaemon runs a daemon until cleanup (or stop) and waits until it is
// connected and has joined #general.
func startDaemon(t *testing.T, cfg daemon.Config) *running {
	t.Helper()
	r := launch(t, cfg)
	waitFor(t, func() bool {
		info, err := daemon.Status(cfg.BaseDir, cfg.Instance)
		return err == nil && info.Connected && slices.Contains(info.Channels, "#general")
	}, "daemon connected and in #general")
	return r
}

// launch runs a daemon without waiting for it; cleanup stops it and
// requires a clean stop.
func launch(t *testing.T, cfg daemon.Config) *running {
	t.Helper()
	d, err := daemon.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{D: d, Cfg: cfg, Dir: d.Dir(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { require.NoError(t, r.stop(t)) })
	return r
}

// stop cancels the daemon and returns Run's result; it is idempotent.
func (r *running) stop(t *testing.T) error {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(waitTimeout):
			t.Error("daemon did not stop")
		}
	})
	return r.err
}

func (r *running) path(name string) string { return filepath.Join(r.Dir, name) }

// dial connects a client to n; it is closed in cleanup.
func dial(t *testing.T, n *testNode, opts client.Options) *client.Client {
	t.Helper()
	opts.URL = n.URL
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// collector records the MSG frames a client receives, once per msg_id (a
// re-join replays what was already seen live).
type collector struct {
	mu   sync.Mutex
	msgs []*protocol.MsgFrame
	ids  map[string]bool
	done chan struct{}
}

// collect starts recording c's messages; the goroutine ends when c closes,
// and cleanup waits for it.
func collect(t *testing.T, c *client.Client) *collector {
	col := &collector{ids: map[string]bool{}, done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for ev := range c.Events() {
			m, ok := ev.(*protocol.MsgFrame)
			if !ok {
				continue
			}
			col.mu.Lock()
			if m.MsgID == "" || !col.ids[m.MsgID] {
				col.ids[m.MsgID] = true
				col.msgs = append(col.msgs, m)
			}
			col.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		require.NoError(t, c.Close())
		<-col.done
	})
	return col
}

// contents returns the contents received from agent from, in order.
func (col *collector) contents(from string) []string {
	col.mu.Lock()
	defer col.mu.Unlock()
	var out []string
	for _, m := range col.msgs {
		if m.From == from {
			out = append(out, m.Content)
		}
	}
	return out
}

// frames returns the messages received from agent from, in order.
func (col *collector) frames(from string) []*protocol.MsgFrame {
	col.mu.Lock()
	defer col.mu.Unlock()
	var out []*protocol.MsgFrame
	for _, m := range col.msgs {
		if m.From == from {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 10*time.Millisecond, "waiting for %s", what)
}

// lines returns the non-empty lines of a file ("" lines for none).
func lines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for l := range bytes.Lines(data) {
		if s := strings.TrimRight(string(l), "\n"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// appendOutbox appends lines to a file the way a writer would: open for
// append, one write per line, close.
func appendOutbox(t testing.TB, path string, ls ...string) {
	t.Helper()
	for _, l := range ls {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		require.NoError(t, err)
		_, err = f.WriteString(l + "\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
