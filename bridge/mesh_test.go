package bridge_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/testnet"
)

// startMesh brings up n in-process nodes on loopback, wired all to all,
// torn down with the test.
func startMesh(t *testing.T, n int, tune func(i int, cfg *testnet.NodeConfig)) *testnet.Net {
	t.Helper()
	return startWired(t, n, testnet.Full, tune)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connect identifies an agent on node i (keyed when priv is set).
func connect(t *testing.T, net *testnet.Net, i int, name string, priv ed25519.PrivateKey) *testnet.Agent {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	a, err := testnet.Dial(ctx, net.Nodes[i].WS())
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	_, err = a.Identify(ctx, name, priv)
	require.NoError(t, err)
	return a
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, priv, err := identity.GenerateKey()
	require.NoError(t, err)
	return priv
}

// waitRemote waits until node i lists agent id in channel.
func waitListed(t *testing.T, a *testnet.Agent, channel string, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		require.NoError(t, a.Send(map[string]any{"type": "LIST_AGENTS", "channel": channel}))
		f, err := a.Next(ctxFor(t, 5*time.Second), "AGENTS")
		require.NoError(t, err)
		listed := map[string]bool{}
		for _, e := range f.Data["list"].([]any) {
			listed[e.(map[string]any)["id"].(string)] = true
		}
		all := true
		for _, id := range ids {
			all = all && listed["@"+id]
		}
		if all {
			return
		}
		require.True(t, time.Now().Before(deadline), "agents %v not listed in %s: %v", ids, channel, listed)
		time.Sleep(50 * time.Millisecond)
	}
}

// expectMsg waits for a MSG with the given content.
func expectMsg(t *testing.T, a *testnet.Agent, content string) testnet.Frame {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	for {
		f, err := a.Next(ctx, "MSG")
		require.NoError(t, err, "waiting for %q at %s", content, a.Name)
		if f.String("content") == content {
			return f
		}
	}
}

// expectNoMsg asserts no MSG with content arrives within d.
func expectNoMsg(t *testing.T, a *testnet.Agent, content string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		f, err := a.Next(ctx, "MSG")
		if err != nil {
			return
		}
		require.NotEqual(t, content, f.String("content"), "%s got %q twice", a.Name, content)
	}
}

func TestChannelMessageReachesEveryNodeOnce(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			net := startMesh(t, n, nil)
			agents := make([]*testnet.Agent, n)
			ids := make([]string, n)
			for i := range n {
				agents[i] = connect(t, net, i, fmt.Sprintf("agent%d", i), newKey(t))
				ids[i] = agents[i].ID
			}
			for i := range n {
				waitListed(t, agents[i], "#general", ids...)
			}
			sig := identity.Sign(newKey(t), "x")
			require.NoError(t, agents[0].Send(map[string]any{"type": "MSG", "to": "#general", "content": "hello mesh", "sig": sig, "ts": 1700000000000}))
			for i := 1; i < n; i++ {
				f := expectMsg(t, agents[i], "hello mesh")
				require.Equal(t, "@"+ids[0], f.String("from"))
				require.Equal(t, "agent0", f.String("from_name"))
				require.Equal(t, sig, f.String("sig"), "the author's signature travels unchanged")
				require.EqualValues(t, 1700000000000, f.Data["sig_ts"], "and so does the ts it covers")
			}
			for i := 1; i < n; i++ {
				expectNoMsg(t, agents[i], "hello mesh", 300*time.Millisecond)
			}
			expectNoMsg(t, agents[0], "hello mesh", 100*time.Millisecond) // no echo to the sender
		})
	}
}

func TestPresenceAndMembershipEverywhere(t *testing.T) {
	net := startMesh(t, 3, nil)
	a := connect(t, net, 0, "alice", newKey(t))
	b := connect(t, net, 1, "bob", nil)
	c := connect(t, net, 2, "carol", newKey(t))
	waitListed(t, c, "#general", a.ID, b.ID, c.ID)

	require.NoError(t, a.Send(map[string]any{"type": "SET_PRESENCE", "status": "away", "status_text": "lunch"}))
	for _, other := range []*testnet.Agent{b, c} {
		f, err := other.Next(ctxFor(t, 10*time.Second), "PRESENCE_CHANGED")
		require.NoError(t, err)
		require.Equal(t, "@"+a.ID, f.String("agent_id"))
		require.Equal(t, "away", f.String("presence"))
		require.Equal(t, "lunch", f.String("status_text"))
	}
	require.NoError(t, a.Send(map[string]any{"type": "SET_NICK", "nick": "alicia"}))
	f, err := c.Next(ctxFor(t, 10*time.Second), "NICK_CHANGED")
	require.NoError(t, err)
	require.Equal(t, "alicia", f.String("new_nick"))

	// A new channel: created on node 0, joined from node 2.
	require.NoError(t, a.Send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#proj"}))
	_, err = a.Next(ctxFor(t, 5*time.Second), "JOINED")
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		require.NoError(t, c.Send(map[string]any{"type": "JOIN", "channel": "#proj"}))
		f, err := c.Next(ctxFor(t, 5*time.Second), "JOINED", "ERROR")
		require.NoError(t, err)
		if f.Type == "JOINED" {
			break
		}
		require.True(t, time.Now().Before(deadline), "channel never reached node 2: %s", f.Raw)
		time.Sleep(50 * time.Millisecond)
	}
	for {
		f, err = a.Next(ctxFor(t, 10*time.Second), "AGENT_JOINED")
		require.NoError(t, err)
		if f.String("channel") == "#proj" {
			break
		}
	}
	require.Equal(t, "@"+c.ID, f.String("agent"))

	// LIST_CHANNELS counts members on every node.
	deadline = time.Now().Add(10 * time.Second)
	for {
		require.NoError(t, b.Send(map[string]any{"type": "LIST_CHANNELS"}))
		f, err = b.Next(ctxFor(t, 5*time.Second), "CHANNELS")
		require.NoError(t, err)
		if strings.Contains(string(f.Raw), `{"name":"#proj","agents":2}`) {
			break
		}
		require.True(t, time.Now().Before(deadline), "node 1 never counted both members: %s", f.Raw)
		time.Sleep(50 * time.Millisecond)
	}

	// Leaving and disconnecting reach the other nodes.
	require.NoError(t, c.Send(map[string]any{"type": "LEAVE", "channel": "#proj"}))
	f, err = a.Next(ctxFor(t, 10*time.Second), "AGENT_LEFT")
	require.NoError(t, err)
	require.Equal(t, "@"+c.ID, f.String("agent"))
	require.NoError(t, b.Close())
	for {
		f, err = c.Next(ctxFor(t, 10*time.Second), "AGENT_LEFT")
		require.NoError(t, err)
		if f.String("agent") == "@"+b.ID {
			break
		}
	}
}

func TestDirectMessagesAcrossNodes(t *testing.T) {
	net := startMesh(t, 3, nil)
	a := connect(t, net, 0, "alice", newKey(t))
	c := connect(t, net, 2, "carol", nil)
	waitListed(t, c, "#general", a.ID)

	require.NoError(t, c.Send(map[string]any{"type": "MSG", "to": "@" + a.ID, "content": "psst"}))
	f := expectMsg(t, a, "psst")
	require.Equal(t, "@"+c.ID, f.String("from"))
	require.Equal(t, "@"+a.ID, f.String("to"))
	expectMsg(t, c, "psst") // the sender's echo

	time.Sleep(1100 * time.Millisecond) // the MSG spacing limit
	require.NoError(t, c.Send(map[string]any{"type": "MSG", "to": "@0000000000000000", "content": "nobody"}))
	e, err := c.Next(ctxFor(t, 5*time.Second), "ERROR")
	require.NoError(t, err)
	require.Equal(t, "AGENT_NOT_FOUND", e.String("code"))
}

func TestReplayIsTheSameOnEveryNode(t *testing.T) {
	net := startMesh(t, 3, func(_ int, cfg *testnet.NodeConfig) { cfg.Node.RateLimits = false })
	a := connect(t, net, 0, "alice", newKey(t))
	// A channel nobody on node 2 is in yet: node 2 starts carrying it only
	// when its first member joins, and must backfill first.
	require.NoError(t, a.Send(map[string]any{"type": "CREATE_CHANNEL", "channel": "#late"}))
	_, err := a.Next(ctxFor(t, 5*time.Second), "JOINED")
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "#late", "content": fmt.Sprintf("m%d", i)}))
	}
	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "#general", "content": "g0"}))

	c := connect(t, net, 2, "carol", nil)
	var replay []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		require.NoError(t, c.Send(map[string]any{"type": "JOIN", "channel": "#late"}))
		f, err := c.Next(ctxFor(t, 5*time.Second), "JOINED", "ERROR")
		require.NoError(t, err)
		if f.Type == "JOINED" {
			break
		}
		require.True(t, time.Now().Before(deadline), "channel never reached node 2")
		time.Sleep(50 * time.Millisecond)
	}
	for len(replay) < 5 {
		f, err := c.Next(ctxFor(t, 5*time.Second))
		require.NoError(t, err)
		t.Logf("carol got %s", f.Raw)
		if f.Type != "MSG" || f.String("to") != "#late" {
			continue
		}
		require.Equal(t, true, f.Data["replay"], "%s", f.Raw)
		replay = append(replay, f.String("content"))
	}
	require.Equal(t, []string{"m0", "m1", "m2", "m3", "m4"}, replay)
}

func TestRestartedNodeResumesDelivery(t *testing.T) {
	net := startMesh(t, 3, nil)
	a := connect(t, net, 0, "alice", newKey(t))
	gone := connect(t, net, 2, "gone", nil)
	waitListed(t, a, "#general", gone.ID)
	require.NoError(t, net.Nodes[2].Close())
	// The node says goodbye on the way out: its agents leave everywhere.
	for {
		f, err := a.Next(ctxFor(t, 10*time.Second), "AGENT_LEFT")
		require.NoError(t, err)
		if f.String("agent") == "@"+gone.ID {
			break
		}
	}
	ctx := ctxFor(t, 30*time.Second)
	require.NoError(t, net.Restart(ctx, 2))
	require.NoError(t, net.WaitMesh(ctx, 20*time.Second))
	c := connect(t, net, 2, "carol", nil)
	waitListed(t, a, "#general", c.ID)
	waitListed(t, c, "#general", a.ID)
	require.NoError(t, a.Send(map[string]any{"type": "MSG", "to": "#general", "content": "welcome back"}))
	expectMsg(t, c, "welcome back")
}

func TestVerifiedAgentMovesToAnotherNode(t *testing.T) {
	net := startMesh(t, 3, nil)
	key := newKey(t)
	old := connect(t, net, 0, "mover", key)
	watcher := connect(t, net, 2, "watcher", nil)
	waitListed(t, watcher, "#general", old.ID)

	moved := connect(t, net, 1, "mover", key)
	require.Equal(t, old.ID, moved.ID)
	f, err := old.Next(ctxFor(t, 10*time.Second), "SESSION_DISPLACED")
	require.NoError(t, err)
	require.Contains(t, f.String("reason"), "Another connection")
	code, err := old.CloseCode(ctxFor(t, 10*time.Second))
	require.NoError(t, err)
	require.Equal(t, 1000, code)

	// The agent is reachable at its new node, once the roster says so.
	require.Eventually(t, func() bool {
		_, host, ok := net.Nodes[2].Server.RemoteHost(moved.ID)
		return ok && host == net.Nodes[1].Host.ID()
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, watcher.Send(map[string]any{"type": "MSG", "to": "@" + moved.ID, "content": "found you"}))
	expectMsg(t, moved, "found you")
}

func TestBurstArrivesCompleteAndInOrder(t *testing.T) {
	const total = 10_000
	net := startMesh(t, 3, func(_ int, cfg *testnet.NodeConfig) {
		cfg.Node.RateLimits = false
		cfg.Node.Notices = false
		cfg.Node.SendQueue = 2 * total
	})
	a := connect(t, net, 0, "sender", newKey(t))
	c := connect(t, net, 2, "receiver", nil)
	waitListed(t, a, "#general", c.ID)
	waitListed(t, c, "#general", a.ID)

	go func() {
		for i := range total {
			if a.Send(map[string]any{"type": "MSG", "to": "#general", "content": fmt.Sprintf("burst %d", i)}) != nil {
				return
			}
		}
	}()
	// The test measures loss and order, not speed: under -race on a loaded
	// machine the signature checks on every hop make the whole burst take
	// minutes, so only a stall (a minute without the next message) fails it.
	next := 0
	for next < total {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		f, err := c.Next(ctx, "MSG")
		cancel()
		if err != nil {
			lost := net.Nodes[2].Bridge.Stats().Lost
			t.Fatalf("received %d of %d (loss reported by the bridge: %d): %v", next, total, lost, err)
		}
		content := f.String("content")
		if !strings.HasPrefix(content, "burst ") {
			continue
		}
		require.Equal(t, fmt.Sprintf("burst %d", next), content, "out of order or lost; bridge %+v, p2p %+v",
			net.Nodes[2].Bridge.Stats(), net.Nodes[2].Host.Stats())
		next++
	}
	require.Zero(t, net.Nodes[2].Bridge.Stats().Lost)
	require.Zero(t, net.Nodes[2].Host.Stats().Dropped)
}

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
