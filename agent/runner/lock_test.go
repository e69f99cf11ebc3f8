package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
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
