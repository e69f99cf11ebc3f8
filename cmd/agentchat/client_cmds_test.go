package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
)

// clientCmdNode starts a real node for the agent commands' tests, with
// notices and rate limits off so that what a command prints is exactly what
// the test sent. It also checks, last of all cleanups, that the test left no
// goroutine behind.
func clientCmdNode(t *testing.T) string {
	t.Helper()
	t.Cleanup(func() {
		goleak.VerifyNone(t, goleak.IgnoreCurrent(),
			// The node's LevelDB lingers up to a second after Close (see
			// node/main_test.go).
			goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"))
	})
	t.Setenv("HOME", t.TempDir()) // the default identity path stays inside the test
	t.Setenv("AGENTCHAT_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	dd, err := node.OpenDataDir(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := node.LocalConfig()
	cfg.Key, cfg.Store = dd.Key, dd.Store
	cfg.Notices, cfg.RateLimits = false, false
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := node.New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, dd.Close())
	})
	return "ws://" + srv.Addr().String()
}

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCLI runs the agentchat app in process and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut lockedBuffer
	err := runCLIWith(&out, &errOut, args...)
	if errOut.String() != "" {
		t.Logf("stderr of %v:\n%s", args, errOut.String())
	}
	return out.String(), err
}

func runCLIWith(out, errOut *lockedBuffer, args ...string) error {
	app := newApp()
	app.Writer, app.ErrWriter = out, errOut
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return app.RunContext(ctx, append([]string{"agentchat", "--log-level", "warn"}, args...))
}

// decodeLine decodes one JSON line of output.
func decodeLine(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
	return m
}

func TestSendThenListenReplays(t *testing.T) {
	url := clientCmdNode(t)
	idPath := filepath.Join(t.TempDir(), "alice.json")
	out, err := runCLI(t, "send", url, "#general", "hi <there> & all", "-n", "alice", "-i", idPath)
	require.NoError(t, err)
	require.Equal(t, "Message sent\n", out)
	alice, err := identity.LoadFile(idPath)
	require.NoError(t, err, "send creates the identity file it is given")

	out, err = runCLI(t, "listen", url, "#general", "--max-messages", "1")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 1, "exactly max-messages lines: %q", out)
	require.True(t, strings.HasPrefix(lines[0], `{"type":"MSG","ts":`), "printed as received: %s", lines[0])
	require.Contains(t, lines[0], `"hi <there> & all"`, "no HTML escaping: the node's bytes")
	m := decodeLine(t, lines[0])
	require.Equal(t, "@"+alice.AgentID, m["from"])
	require.Equal(t, true, m["replay"])
	require.NotEmpty(t, m["sig"], "a send with an identity is signed")
}

func TestListenPrintsLiveMessages(t *testing.T) {
	url := clientCmdNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sender, err := client.Dial(ctx, client.Options{URL: url, Name: "sender"})
	require.NoError(t, err)
	defer sender.Close()

	var out, errOut lockedBuffer
	done := make(chan error, 1)
	go func() { done <- runCLIWith(&out, &errOut, "listen", url, "#agents", "-m", "1", "-n", "listener") }()
	// Once listen has joined, its status line is on stderr.
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "Joined: #agents") },
		10*time.Second, 5*time.Millisecond)
	require.NoError(t, sender.Send(ctx, "#agents", "live one"))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("listen did not stop after one message; stdout %q stderr %q", out.String(), errOut.String())
	}
	m := decodeLine(t, strings.TrimSpace(out.String()))
	require.Equal(t, "MSG", m["type"])
	require.Equal(t, "live one", m["content"])
	require.Equal(t, sender.AgentID(), m["from"])
	require.Nil(t, m["replay"])
}

func TestSendRefusedExitsWithServerError(t *testing.T) {
	url := clientCmdNode(t)
	_, err := runCLI(t, "send", url, "#nope", "hello")
	require.Error(t, err)
	require.Contains(t, err.Error(), "CHANNEL_NOT_FOUND: Channel #nope not found")

	_, err = runCLI(t, "send", url, "#general")
	require.ErrorContains(t, err, "usage: agentchat send")
}

func TestNodeURLFromEnvironment(t *testing.T) {
	url := clientCmdNode(t)
	t.Setenv("AGENTCHAT_URL", url)
	out, err := runCLI(t, "send", "#general", "via env")
	require.NoError(t, err)
	require.Equal(t, "Message sent\n", out)
	out, err = runCLI(t, "listen", "-m", "1")
	require.NoError(t, err, "listen defaults to #general")
	require.Equal(t, "via env", decodeLine(t, strings.TrimSpace(out))["content"])
}

func TestChannelsAndAgentsCommands(t *testing.T) {
	url := clientCmdNode(t)
	out, err := runCLI(t, "channels", url)
	require.NoError(t, err)
	require.Contains(t, out, "Available channels:\n  #general (1 agents)\n")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bob, err := client.Dial(ctx, client.Options{URL: url, Name: "bob"})
	require.NoError(t, err)
	defer bob.Close()
	require.NoError(t, bob.SetPresence(ctx, "busy", "compiling"))

	out, err = runCLI(t, "agents", url, "#general")
	require.NoError(t, err)
	require.Contains(t, out, "  "+bob.AgentID()+" (bob) [busy] - compiling\n")

	out, err = runCLI(t, "agents", url, "#general", "--json")
	require.NoError(t, err)
	var list []protocol.AgentInfo
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 2, "bob and the command's own agent")
}

func TestVerifyCommand(t *testing.T) {
	url := clientCmdNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bobID, err := identity.New("bob")
	require.NoError(t, err)
	bob, err := client.Dial(ctx, client.Options{URL: url, Identity: bobID})
	require.NoError(t, err)
	defer bob.Close()
	out, err := runCLI(t, "verify", url, bob.AgentID())
	require.NoError(t, err)
	require.Equal(t, "verified "+bob.AgentID()+"\n"+bobID.PublicKey, out)
}

func TestMarketCommandsWithoutMarketplace(t *testing.T) {
	url := clientCmdNode(t)
	// No -i: the default identity (~/.agentchat/identity.json) is created.
	_, err := runCLI(t, "propose", url, "@0123456789abcdef", "review my PR", "-a", "1.5", "-c", "SOL", "-s", "10")
	require.ErrorContains(t, err, "INVALID_MSG: Marketplace is not enabled on this node")
	_, err = os.Stat(filepath.Join(os.Getenv("HOME"), ".agentchat", "identity.json"))
	require.NoError(t, err, "the default identity was created")

	for _, args := range [][]string{
		{"accept", url, "prop_x", "-p", "addr", "-s", "5"},
		{"reject", url, "prop_x", "-r", "busy"},
		{"complete", url, "prop_x", "--proof", "done"},
		{"dispute", url, "prop_x", "not delivered"},
		{"skills", "register", url, "--capability", "code_review", "--rate", "5"},
	} {
		_, err := runCLI(t, args...)
		require.ErrorContains(t, err, "Marketplace is not enabled", "%v", args)
	}
	_, err = runCLI(t, "skills", "register", url)
	require.ErrorContains(t, err, "--capability is required")

	out, err := runCLI(t, "skills", "search", url, "--capability", "code", "--json")
	require.NoError(t, err)
	m := decodeLine(t, strings.TrimSpace(out))
	require.Equal(t, "SEARCH_RESULTS", m["type"])
	require.Equal(t, map[string]any{"capability": "code"}, m["query"])
	out, err = runCLI(t, "skills", "search", url)
	require.NoError(t, err)
	require.Equal(t, "Found 0 skill(s):\n", out)
}
