package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
)

// runChild runs `agentchat <args>` as a process (this test binary, see
// TestMain) and returns its exit code and output.
func runChild(t *testing.T, home string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "HOME="+home, "AGENTCHAT_URL=", "MISSION=", "AGENT_RUNTIME=", "AGENT_MODEL=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	require.NoError(t, err)
	return 0, string(out)
}

// TestRunCommandExitCodes pins `agentchat run`'s exit codes for a
// supervisor: bad configuration is 2 (never restarted), a session that
// fails is 1.
func TestRunCommandExitCodes(t *testing.T) {
	home := t.TempDir()
	code, out := runChild(t, home, "run", "--name", "x", "--backend", "cli", "--command", "true")
	require.Equal(t, runner.ExitFatal, code, out)
	require.Contains(t, out, "agent x has no mission")

	code, out = runChild(t, home, "run", "--name", "x", "--mission", "m", "--backend", "gro")
	require.Equal(t, runner.ExitFatal, code, out)
	require.Contains(t, out, `backend type "gro"`)

	spec := filepath.Join(t.TempDir(), "a.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"name":"x","mission":"m","url":"ws://127.0.0.1:1","backend":{"type":"cli","command":["true"]}}`), 0o600))
	code, out = runChild(t, home, "run", "--spec", spec, "--name", "y")
	require.Equal(t, runner.ExitFatal, code, out)
	require.Contains(t, out, "--name and --spec do not mix")

	// Nothing listens on port 1: the session fails to connect.
	code, out = runChild(t, home, "run", "--spec", spec, "--home", home)
	require.Equal(t, runner.ExitCrash, code, out)
	s, err := runner.ReadSession(runner.AgentDir(home, "x"))
	require.NoError(t, err)
	require.Equal(t, runner.EndCrash, s.EndedBy)
}
