package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/testnet"
)

// TestSecondRunnerRefused runs one session of an agent and starts a
// second on the same state directory: the second is refused (ErrBusy)
// before it touches the first one's session files.
func TestSecondRunnerRefused(t *testing.T) {
	url := startNode(t)
	bob := dialPeer(t, url, "bob")
	cfg := baseConfig(t, url, "echo", &runner.CLI{Command: []string{"/bin/sh", script(t, echoScript)}})
	runAsync(t, cfg)
	bob.waitJoined(t, "echo")
	dir := runner.AgentDir(cfg.Home, "echo")
	before, err := os.ReadFile(filepath.Join(dir, runner.SessionFile))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout) // a second session that runs ends here, and fails below
	defer cancel()
	err = runner.Run(ctx, cfg)
	require.ErrorIs(t, err, runner.ErrBusy)
	require.ErrorContains(t, err, "agent echo already has a runner")
	require.Equal(t, runner.ExitCrash, runner.ExitCode(err))
	after, err := os.ReadFile(filepath.Join(dir, runner.SessionFile))
	require.NoError(t, err)
	require.Equal(t, string(before), string(after), "session.json is the running session's")
	num, err := os.ReadFile(filepath.Join(dir, "session_num"))
	require.NoError(t, err)
	require.Equal(t, "1", string(num))
}

// TestEarlyFailureRecorded fails a session before it connects (the cli
// backend's mcp.json cannot be written): session.json still says how it
// ended.
func TestEarlyFailureRecorded(t *testing.T) {
	cfg := baseConfig(t, "ws://127.0.0.1:1", "early", &runner.CLI{Command: []string{"true"}, MCPCommand: []string{"agentchat", "mcp"}})
	dir := runner.AgentDir(cfg.Home, "early")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "mcp.json"), 0o700), "a directory where mcp.json goes")
	err := runner.Run(context.Background(), cfg)
	require.ErrorContains(t, err, "write MCP config")
	s, err := runner.ReadSession(dir)
	require.NoError(t, err)
	require.Equal(t, runner.EndCrash, s.EndedBy)
	require.Contains(t, s.Error, "write MCP config")
	require.NotEmpty(t, s.EndedAt)
	require.Equal(t, 1, s.Num)
}

// TestCLIBackendGroupKilled stops a session while its command runs with
// a child of its own: the command's whole process group is killed, so the
// child does not outlive the turn.
func TestCLIBackendGroupKilled(t *testing.T) {
	url := startNode(t)
	sh := script(t, `sleep 600 & echo $! > "$STATE_DIR/child.pid"; cat > /dev/null; wait`)
	cfg := baseConfig(t, url, "sleeper", &runner.CLI{Command: []string{"/bin/sh", sh}})
	stop, _ := runAsync(t, cfg)
	pidFile := filepath.Join(runner.AgentDir(cfg.Home, "sleeper"), "child.pid")
	var child int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		_, err = fmt.Sscan(string(data), &child)
		return err == nil
	}, waitTimeout, 10*time.Millisecond)
	require.NoError(t, stop())
	require.Eventually(t, func() bool { return testnet.Exited(child) }, waitTimeout, 10*time.Millisecond,
		"the command's child was killed with its group")
}
