package supervisor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/agent/supervisor"
)

// TestLogsRotate pins the bound of the logs: a runner that keeps writing
// has its runner.log moved to runner.log.1 and truncated while it runs
// (its later lines land at the start of the file), and a crash loop's
// supervisor.log is rotated at a start.
func TestLogsRotate(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	start(t, supervisor.Config{Home: home, MaxLogSize: 2000,
		Command: fakeRunner(t, "i=0; while :; do i=$((i+1)); echo \"line $i of a chatty runner\"; sleep 0.002; done\n")})
	waitRunning(t, dir, 0)
	require.Eventually(t, func() bool {
		old, err := os.ReadFile(filepath.Join(dir, "runner.log.1"))
		if err != nil || len(old) <= 2000 {
			return false
		}
		cur, err := os.ReadFile(filepath.Join(dir, "runner.log"))
		return err == nil && strings.HasPrefix(string(cur), "line ") && !strings.HasPrefix(string(cur), "line 1 ")
	}, waitTimeout, 10*time.Millisecond, "runner.log is rotated while the runner writes")

	home = t.TempDir()
	dir = runner.AgentDir(home, "a1")
	_, done := start(t, supervisor.Config{Home: home, MaxLogSize: 300, Command: fakeRunner(t, "exit 1\n"), After: (&fakeClock{}).After})
	wait(t, done)
	old, err := os.ReadFile(filepath.Join(dir, "supervisor.log.1"))
	require.NoError(t, err)
	require.Contains(t, string(old), "runner ended")
	cur, err := os.ReadFile(filepath.Join(dir, "supervisor.log"))
	require.NoError(t, err)
	require.Contains(t, string(cur), "status=failed", "the newest lines are in supervisor.log")
}
