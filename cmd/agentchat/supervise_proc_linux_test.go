package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/agent/supervisor"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/testnet"
)

// waitLong bounds the waits on processes that start and stop.
const waitLong = 60 * time.Second

// TestSuperviseProcessSignals runs `agentchat supervise` as a process
// with one agent whose cli backend blocks in a command that has a child
// of its own. SIGKILL to the supervisor stops the runner, the command and
// its child (parent-death signal, then the runner's group kill); a new
// supervisor runs exactly one runner again; SIGTERM to it stops the
// runner cleanly within the grace period and it exits 0.
func TestSuperviseProcessSignals(t *testing.T) {
	bin := agentchatBin(t)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := testnet.StartServer(t.TempDir(), "127.0.0.1:0", log, func(c *node.Config) { c.RateLimits = false })
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Stop()) })
	home := t.TempDir()
	backend := filepath.Join(t.TempDir(), "backend.sh")
	require.NoError(t, os.WriteFile(backend, []byte("#!/bin/sh\necho $$ >> \"$STATE_DIR/backend.pids\"\n"+
		"sleep 600 & echo $! >> \"$STATE_DIR/backend.pids\"\ncat > /dev/null; wait\n"), 0o755))
	cfg, err := json.Marshal(map[string]any{"agents": []any{map[string]any{"name": "worker", "mission": "wait", "url": n.URL,
		"backend": map[string]any{"type": "cli", "command": []string{"/bin/sh", backend}}}},
		"backoff": map[string]any{"grace": "10s"}})
	require.NoError(t, err)
	cfgPath := filepath.Join(t.TempDir(), "fleet.json")
	require.NoError(t, os.WriteFile(cfgPath, cfg, 0o600))
	dir := runner.AgentDir(home, "worker")

	var stderr lockedBuffer
	supervise := func() (*exec.Cmd, <-chan struct{}) {
		cmd := exec.Command(bin, "--log-level", "warn", "supervise", "--config", cfgPath, "--home", home)
		cmd.Env = append(os.Environ(), "HOME="+home)
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		return cmd, exited
	}
	pids := func() []int {
		out, err := testnet.Pids(filepath.Join(dir, "backend.pids"))
		require.NoError(t, err)
		return out
	}
	state := func() supervisor.State {
		var st supervisor.State
		data, _ := os.ReadFile(filepath.Join(dir, supervisor.StateFile))
		_ = json.Unmarshal(data, &st)
		return st
	}
	debug := func() string {
		runnerLog, _ := os.ReadFile(filepath.Join(dir, "runner.log"))
		return fmt.Sprintf("supervise:\n%s\nrunner.log:\n%s", stderr.String(), runnerLog)
	}
	// running waits until the runner's command and its child run (the
	// backend.pids lines want) and returns the runner's pid.
	running := func(want int) int {
		require.Eventually(t, func() bool { return len(pids()) == want && state().Status == supervisor.StatusRunning },
			waitLong, 20*time.Millisecond, "%s", debug())
		return state().PID
	}
	exited := func(what string, pid int) {
		require.Eventually(t, func() bool { return testnet.Exited(pid) }, waitLong, 20*time.Millisecond, "%s (pid %d) exited; %s", what, pid, debug())
	}

	first, firstDone := supervise()
	runner1 := running(2)
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	<-firstDone
	exited("the runner", runner1)
	for _, pid := range pids() {
		exited("the backend command or its child", pid)
	}
	_, held := daemon.LockHolder(filepath.Join(dir, runner.PidFile))
	require.False(t, held)

	second, secondDone := supervise()
	runner2 := running(4)
	require.NotEqual(t, runner1, runner2)
	holder, held := daemon.LockHolder(filepath.Join(dir, runner.PidFile))
	require.True(t, held)
	require.Equal(t, runner2, holder, "one runner")
	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	select {
	case <-secondDone:
	case <-time.After(waitLong):
		t.Fatalf("supervise did not exit on SIGTERM; %s", debug())
	}
	require.Zero(t, second.ProcessState.ExitCode(), "%s", debug())
	require.Equal(t, supervisor.StatusStopped, state().Status)
	sess, err := runner.ReadSession(dir)
	require.NoError(t, err)
	require.Equal(t, runner.EndStopped, sess.EndedBy, "the runner took the forwarded SIGTERM as a clean stop")
	exited("the runner", runner2)
	for _, pid := range pids()[2:] {
		exited("the backend command or its child", pid)
	}
}
