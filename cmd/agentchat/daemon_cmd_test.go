package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/protocol"
)

// TestDaemonCommand runs `agentchat daemon` in process against a real node
// and drives it with the status, list and stop forms and its outbox.
func TestDaemonCommand(t *testing.T) {
	url := clientCmdNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bob, err := client.Dial(ctx, client.Options{URL: url, Name: "bob"})
	require.NoError(t, err)
	defer bob.Close()
	_, err = bob.Join(ctx, "#general")
	require.NoError(t, err)

	out, err := runCLI(t, "daemon", "status", "--instance", "cli")
	require.NoError(t, err)
	require.Equal(t, "Daemon cli is not running\n", out)

	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	var dOut, dErr lockedBuffer
	done := make(chan error, 1)
	go func() {
		app := newApp()
		app.Writer, app.ErrWriter = &dOut, &dErr
		done <- app.RunContext(runCtx, []string{"agentchat", "--log-level", "warn",
			"daemon", url, "--instance", "cli", "-c", "general,agents", "--max-reconnect-time", "0.1"})
	}()
	// urfave/cli writes its shared help flag while parsing, so the next
	// command runs only after the daemon's has parsed: its first output
	// line, under the buffer's lock, orders the two.
	require.Eventually(t, func() bool { return strings.Contains(dErr.String(), "connecting to "+url) },
		15*time.Second, 10*time.Millisecond, "daemon started; stderr %s", dErr.String())
	require.Contains(t, dErr.String(), "created identity ", "the default identity is created")
	require.Eventually(t, func() bool {
		info, err := daemon.Status("", "cli")
		return err == nil && info.Connected && len(info.Channels) == 2
	}, 15*time.Second, 10*time.Millisecond, "daemon connected; stderr %s", dErr.String())
	out, err = runCLI(t, "daemon", "status", "--instance", "cli")
	require.NoError(t, err)
	require.Contains(t, out, "connected as @")
	require.Contains(t, out, "channels: #general, #agents")

	// The original's flag forms.
	out, err = runCLI(t, "daemon", "--status", "-n", "cli")
	require.NoError(t, err)
	require.Contains(t, out, "Daemon cli is running (pid "+strconv.Itoa(os.Getpid())+")")
	out, err = runCLI(t, "daemon", "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^cli +running \(pid \d+\), connected as @[0-9a-f]{16}$`, out)
	out, err = runCLI(t, "daemon", "status", "--instance", "cli", "--json")
	require.NoError(t, err)
	var info daemon.Info
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	require.True(t, info.Connected)

	// The outbox works: a line reaches bob once.
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	dir := filepath.Join(home, ".agentchat", "daemons", "cli")
	require.Equal(t, dir, info.Dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "outbox.jsonl"), []byte(`{"to":"#general","content":"from the daemon"}`+"\n"), 0o600))
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case ev := <-bob.Events():
			m, ok := ev.(*protocol.MsgFrame)
			if !ok {
				continue // the daemon's AGENT_JOINED
			}
			require.Equal(t, "from the daemon", m.Content)
			require.Equal(t, info.AgentID, m.From)
			got = true
		case <-deadline:
			t.Fatal("the outbox line did not arrive")
		}
	}

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, "a canceled daemon exits cleanly")
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	require.NoFileExists(t, filepath.Join(dir, "daemon.pid"))
	out, err = runCLI(t, "daemon", "stop", "--instance", "cli")
	require.NoError(t, err)
	require.Equal(t, "Daemon cli is not running\n", out)
	out, err = runCLI(t, "daemon", "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^cli +stopped$`, out)
}

func TestDaemonCommandUsage(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	_, err := runCLI(t, "daemon", "ws://127.0.0.1:1", "extra")
	require.ErrorContains(t, err, `unexpected argument "extra"`)
	out, err := runCLI(t, "daemon", "list")
	require.NoError(t, err)
	require.Equal(t, "No daemon instances\n", out)
	out, err = runCLI(t, "daemon", "--stop-all")
	require.NoError(t, err)
	require.Equal(t, "No daemons running\n", out)
}
