package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/testnet"
)

// waitTimeout bounds every wait for an event or a condition; on loopback
// frames arrive in microseconds, so it only decides how long a failure takes.
const waitTimeout = 10 * time.Second

// testNode is a real node on a loopback port with a real data dir.
type testNode = testnet.Server

// noLimits turns the node's per-connection rate limits off, for tests that
// send several messages in a row.
func noLimits(c *node.Config) { c.RateLimits = false }

// startNode starts a node on a fresh data dir.
func startNode(tb testing.TB, opts ...func(*node.Config)) *testNode {
	tb.Helper()
	return startNodeAt(tb, tb.TempDir(), "127.0.0.1:0", opts...)
}

// startNodeAt starts a node on data dir dir listening on addr; both may be
// an earlier node's. It is stopped in cleanup.
func startNodeAt(tb testing.TB, dir, addr string, opts ...func(*node.Config)) *testNode {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := testnet.StartServer(dir, addr, log, opts...)
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

// dial connects a client to n; it is closed in cleanup.
func dial(t testing.TB, n *testNode, opts client.Options) *client.Client {
	t.Helper()
	opts.URL = n.URL
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// newIdentity returns a fresh identity named name.
func newIdentity(t testing.TB, name string) *identity.File {
	t.Helper()
	f, err := identity.New(name)
	require.NoError(t, err)
	return f
}

// ctxT returns a context bounded by waitTimeout.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// nextEvent returns the first event of type T for which match holds,
// skipping others, failing the test after waitTimeout or if Events closes.
func nextEvent[T client.Event](t testing.TB, c *client.Client, match func(T) bool) T {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	var seen []string
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				var zero T
				require.FailNowf(t, "events closed", "waiting for %T; client error %v; seen %v", zero, c.Err(), seen)
			}
			if v, ok := ev.(T); ok && (match == nil || match(v)) {
				return v
			}
			seen = append(seen, fmt.Sprintf("%T%+v", ev, ev))
		case <-deadline.C:
			var zero T
			require.FailNowf(t, "timeout", "no %T within %v; seen %v", zero, waitTimeout, seen)
		}
	}
}

// noEvent fails if an event of type T matching match arrives within d.
func noEvent[T client.Event](t testing.TB, c *client.Client, d time.Duration, match func(T) bool) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return
			}
			if v, ok := ev.(T); ok && (match == nil || match(v)) {
				require.FailNowf(t, "unexpected event", "%T %+v", v, v)
			}
		case <-timer.C:
			return
		}
	}
}

// serverCode returns the code of a *client.ServerError in err's chain.
func serverCode(t testing.TB, err error) string {
	t.Helper()
	var se *client.ServerError
	require.Truef(t, errors.As(err, &se), "want a *client.ServerError, got %v", err)
	return string(se.Code)
}
