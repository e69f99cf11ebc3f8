package supervisor_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/daemon"
	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/agent/supervisor"
	"github.com/agentchat/mesh/testnet"
)

// TestSecondSupervisorRefused pins that an agent another live supervisor
// holds is not started twice, and that the refused supervisor writes
// nothing: neither a supervisor in another process (its pid in
// supervisor.pid) nor one in this process (holding the lock) has its
// agent.json or state.json touched. A stale pid file does not block.
func TestSecondSupervisorRefused(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	files := map[string]string{"agent.json": `{"name":"a1","mission":"the running one"}`, "state.json": `{"status":"running"}`}
	for f, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(content), 0o600))
	}
	other := exec.Command("sleep", "30")
	require.NoError(t, other.Start())
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "supervisor.pid"), []byte(strconv.Itoa(other.Process.Pid)), 0o600))
	sup, err := supervisor.New(supervisor.Config{Home: home, Command: fakeRunner(t, "exit 2\n"), Agents: []runner.Spec{spec("a1")}})
	require.NoError(t, err)
	err = sup.Run(t.Context())
	require.ErrorIs(t, err, supervisor.ErrBusy)
	require.ErrorContains(t, err, fmt.Sprintf("agent a1 is already supervised: already running (pid %d", other.Process.Pid))
	require.Zero(t, starts(dir))
	for f, content := range files {
		got, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Equal(t, content, string(got), "the refused supervisor left %s alone", f)
	}

	_ = other.Process.Kill()
	_ = other.Wait()
	start(t, supervisor.Config{Home: home, Command: fakeRunner(t, "while :; do sleep 0.05; done\n")})
	waitRunning(t, dir, 0)
	require.Eventually(t, func() bool { return starts(dir) == 1 }, waitTimeout, 10*time.Millisecond,
		"a dead supervisor's pid file does not block")
	before, err := os.ReadFile(filepath.Join(dir, "agent.json"))
	require.NoError(t, err)
	second := spec("a1")
	second.Mission = "a second supervisor's"
	sup, err = supervisor.New(supervisor.Config{Home: home, Command: fakeRunner(t, "exit 2\n"), Agents: []runner.Spec{second}})
	require.NoError(t, err)
	require.ErrorIs(t, sup.Run(t.Context()), supervisor.ErrBusy, "a supervisor in the same process is refused too")
	after, err := os.ReadFile(filepath.Join(dir, "agent.json"))
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))
	require.Equal(t, supervisor.StatusRunning, readState(t, dir).Status)
	require.Equal(t, 1, starts(dir))
}

// pids reads the pids a locking runner appended to a file of dir.
func pids(t *testing.T, dir, file string) []int {
	t.Helper()
	out, err := testnet.Pids(filepath.Join(dir, file))
	require.NoError(t, err)
	return out
}

// TestLeftoverRunnerStopped leaves a runner running as a killed
// supervisor would (in its own process group, holding runner.pid, with a
// child): a new supervisor stops it and its child before it starts its
// own, so there is one runner, not two.
func TestLeftoverRunnerStopped(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	self, err := os.Executable()
	require.NoError(t, err)
	t.Setenv(lockingRunnerEnv, "1") // the supervisor's runners are locking runners too
	left := exec.Command(self)
	left.Env = append(os.Environ(), "STATE_DIR="+dir)
	daemon.OwnGroup(left, 0)
	require.NoError(t, left.Start())
	var leftErr error
	exited := make(chan struct{})
	go func() { leftErr = left.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-left.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	require.Eventually(t, func() bool { return len(pids(t, dir, "starts")) == 1 }, waitTimeout, 10*time.Millisecond)
	leftChild := pids(t, dir, "children")[0]
	holder, held := daemon.LockHolder(filepath.Join(dir, runner.PidFile))
	require.True(t, held)
	require.Equal(t, left.Process.Pid, holder)

	start(t, supervisor.Config{Home: home, Command: []string{self}, Backoff: supervisor.Backoff{Grace: runner.Duration(5 * time.Second)}})
	select {
	case <-exited:
		require.NoError(t, leftErr, "the leftover runner took SIGTERM")
	case <-time.After(waitTimeout):
		t.Fatal("the leftover runner was not stopped")
	}
	require.Eventually(t, func() bool { return testnet.Exited(leftChild) }, waitTimeout, 10*time.Millisecond,
		"the leftover runner's child was stopped with its group")
	pid := waitRunning(t, dir, 0)
	require.NotEqual(t, left.Process.Pid, pid)
	require.Eventually(t, func() bool { return len(pids(t, dir, "starts")) == 2 }, waitTimeout, 10*time.Millisecond)
	holder, held = daemon.LockHolder(filepath.Join(dir, runner.PidFile))
	require.True(t, held)
	require.Equal(t, pid, holder, "the supervisor's own runner is the only one")
}

// TestRunnerGroupStopped pins that stopping a runner stops its process
// group: the child a runner leaves behind is gone with it.
func TestRunnerGroupStopped(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	self, err := os.Executable()
	require.NoError(t, err)
	t.Setenv(lockingRunnerEnv, "1")
	cancel, _ := start(t, supervisor.Config{Home: home, Command: []string{self}})
	waitRunning(t, dir, 0)
	require.Eventually(t, func() bool { return len(pids(t, dir, "children")) == 1 }, waitTimeout, 10*time.Millisecond)
	child := pids(t, dir, "children")[0]
	cancel()
	require.Eventually(t, func() bool { return testnet.Exited(child) }, waitTimeout, 10*time.Millisecond)
	_, held := daemon.LockHolder(filepath.Join(dir, runner.PidFile))
	require.False(t, held)
}

// TestContainerRemoved runs the runners through a fake docker CLI that
// records its calls: the container of a runner whose `docker run` died is
// removed (`docker rm -f agentchat-<name>`) before the restart, and again
// on stop; a container left from before is removed before the first run.
func TestContainerRemoved(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	bin := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\necho \"$*\" >> \"$DOCKER_CALLS\"\n"+
		"case \"$1\" in run) trap 'exit 0' TERM; while :; do sleep 0.05; done;; esac\n"), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_CALLS", calls)
	verbs := func() []string {
		data, _ := os.ReadFile(calls)
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line != "" {
				f := strings.Fields(line)
				out = append(out, f[0]+" "+f[len(f)-1])
			}
		}
		return out
	}
	cancel, _ := start(t, supervisor.Config{Home: home, Command: []string{"unused"},
		Container: &supervisor.Container{Runtime: "docker", Image: "img"},
		Backoff:   supervisor.Backoff{Initial: runner.Duration(50 * time.Millisecond)}})
	// The CLI writes its call once it runs, after state.json says so.
	saw := func(want ...string) {
		t.Helper()
		require.Eventually(t, func() bool { return slices.Equal(want, verbs()) }, waitTimeout, 10*time.Millisecond,
			"calls: %q", verbs())
	}
	first := waitRunning(t, dir, 0)
	spec := filepath.Join(dir, "agent.json")
	saw("rm agentchat-a1", "run "+spec)
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	waitRunning(t, dir, first)
	saw("rm agentchat-a1", "run "+spec, "rm agentchat-a1", "run "+spec)
	cancel()
	require.Equal(t, []string{"rm agentchat-a1", "run " + spec, "rm agentchat-a1", "run " + spec, "rm agentchat-a1"}, verbs())
	require.Contains(t, readFile(t, calls), "rm -f agentchat-a1")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}
