package supervisor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/agent/supervisor"
)

const waitTimeout = 20 * time.Second

// fakeClock fires every backoff wait at once and records what was asked.
type fakeClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}

func (c *fakeClock) got() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// fakeRunner is a shell script standing in for `agentchat run`: it
// appends a line to $STATE_DIR/starts, then runs body.
func fakeRunner(t *testing.T, body string) []string {
	path := filepath.Join(t.TempDir(), "runner.sh")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\necho \"$@\" >> \"$STATE_DIR/starts\"\n"+body), 0o755))
	return []string{"/bin/sh", path}
}

// readyLoop ends a fake runner's body that has set its trap: it says it
// is ready (the file ready) and loops until it is stopped.
const readyLoop = ": > \"$STATE_DIR/ready\"\nwhile :; do sleep 0.05; done\n"

// waitReady waits until a readyLoop runner has its trap set.
func waitReady(t *testing.T, dir string) {
	t.Helper()
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "ready")); return err == nil },
		waitTimeout, 10*time.Millisecond, "the fake runner set its trap")
}

// spec is a valid agent spec; the fake runner ignores it.
func spec(name string) runner.Spec {
	return runner.Spec{Name: name, Mission: "test", Backend: runner.BackendSpec{Type: "cli", Command: []string{"true"}}}
}

// withTools gives a spec a tools allowlist.
func withTools(s runner.Spec, tools ...string) runner.Spec {
	s.Tools = tools
	return s
}

// start runs a supervisor of one agent in the background; the returned
// func cancels it and waits for Run.
func start(t *testing.T, cfg supervisor.Config) (cancel func(), done <-chan struct{}) {
	t.Helper()
	if len(cfg.Agents) == 0 {
		cfg.Agents = []runner.Spec{spec("a1")}
	}
	cfg.Poll = 20 * time.Millisecond
	sup, err := supervisor.New(cfg)
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		require.NoError(t, sup.Run(ctx))
	}()
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			stop()
			select {
			case <-ch:
			case <-time.After(waitTimeout):
				t.Error("supervisor did not stop")
			}
		})
	}
	t.Cleanup(cancel)
	return cancel, ch
}

func wait(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("supervisor did not end by itself")
	}
}

func readState(t *testing.T, dir string) supervisor.State {
	t.Helper()
	var st supervisor.State
	data, err := os.ReadFile(filepath.Join(dir, supervisor.StateFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &st))
	return st
}

// status reads state.json's status, "" before the file exists.
func status(dir string) (string, int) {
	var st supervisor.State
	data, err := os.ReadFile(filepath.Join(dir, supervisor.StateFile))
	if err != nil || json.Unmarshal(data, &st) != nil {
		return "", 0
	}
	return st.Status, st.PID
}

// waitRunning waits until the agent's runner runs and returns its pid.
func waitRunning(t *testing.T, dir string, not int) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		var s string
		s, pid = status(dir)
		return s == supervisor.StatusRunning && pid > 0 && pid != not
	}, waitTimeout, 10*time.Millisecond)
	return pid
}

func starts(dir string) int {
	data, _ := os.ReadFile(filepath.Join(dir, "starts"))
	return bytes.Count(data, []byte{'\n'})
}

// TestCrashLoopFails runs a runner that crashes at once: the supervisor
// restarts it with §23's doubling delays (asked of the clock) and gives
// up after ten quick crashes in a row.
func TestCrashLoopFails(t *testing.T) {
	home := t.TempDir()
	clock := &fakeClock{}
	_, done := start(t, supervisor.Config{Home: home, Command: fakeRunner(t, "exit 1\n"), After: clock.After})
	wait(t, done)
	dir := runner.AgentDir(home, "a1")
	st := readState(t, dir)
	require.Equal(t, supervisor.StatusFailed, st.Status)
	require.Equal(t, "a1", st.AgentName)
	require.Equal(t, "test", st.Mission)
	require.Equal(t, 9, st.RestartCount)
	require.Equal(t, "exit code 1", st.LastError)
	require.Equal(t, 10, starts(dir))
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1280}
	for i := range want {
		want[i] *= time.Second
	}
	require.Equal(t, want, clock.got())
	args, err := os.ReadFile(filepath.Join(dir, "starts"))
	require.NoError(t, err)
	require.Contains(t, string(args), "--home "+home+" --spec "+filepath.Join(dir, "agent.json"))
	spec, err := runner.ReadSpec(filepath.Join(dir, "agent.json"))
	require.NoError(t, err)
	require.Equal(t, dir, spec.StateDir)
	log, err := os.ReadFile(filepath.Join(dir, "supervisor.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "status=failed")
}

// TestFatalExitStops pins that exit code 2 is not restarted.
func TestFatalExitStops(t *testing.T) {
	home := t.TempDir()
	clock := &fakeClock{}
	_, done := start(t, supervisor.Config{Home: home, Command: fakeRunner(t, "exit 2\n"), After: clock.After})
	wait(t, done)
	dir := runner.AgentDir(home, "a1")
	require.Equal(t, supervisor.StatusFatal, readState(t, dir).Status)
	require.Equal(t, 1, starts(dir))
	require.Empty(t, clock.got())
}

// TestStopFileStopsRunner creates the stop file: the runner gets SIGTERM,
// the agent is stopped and not restarted, and Run returns.
func TestStopFileStopsRunner(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, supervisor.StopFile), nil, 0o600), "an old stop file is removed at start")
	_, done := start(t, supervisor.Config{Home: home,
		Command: fakeRunner(t, "trap 'echo term >> \"$STATE_DIR/got\"; exit 0' TERM\n"+readyLoop)})
	waitRunning(t, dir, 0)
	waitReady(t, dir)
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, ".heartbeat")); return err == nil },
		waitTimeout, 10*time.Millisecond)
	require.FileExists(t, filepath.Join(dir, "supervisor.pid"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, supervisor.StopFile), nil, 0o600))
	wait(t, done)
	st := readState(t, dir)
	require.Equal(t, supervisor.StatusStopped, st.Status)
	require.Zero(t, st.PID)
	got, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Equal(t, "term\n", string(got), "the runner got SIGTERM")
	require.Equal(t, 1, starts(dir))
	require.NoFileExists(t, filepath.Join(dir, "supervisor.pid"))
}

// TestSIGTERMGraceThenKill ends the supervisor (as SIGTERM to it does):
// a runner that ignores SIGTERM is killed after the grace period.
func TestSIGTERMGraceThenKill(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	cancel, _ := start(t, supervisor.Config{Home: home, Backoff: supervisor.Backoff{Grace: runner.Duration(300 * time.Millisecond)},
		Command: fakeRunner(t, "trap 'echo term >> \"$STATE_DIR/got\"' TERM\n"+readyLoop)})
	pid := waitRunning(t, dir, 0)
	waitReady(t, dir)
	began := time.Now()
	cancel()
	require.GreaterOrEqual(t, time.Since(began), 300*time.Millisecond, "the grace period is given")
	require.Equal(t, supervisor.StatusStopped, readState(t, dir).Status)
	got, err := os.ReadFile(filepath.Join(dir, "got"))
	require.NoError(t, err)
	require.Contains(t, string(got), "term")
	require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the runner was killed")
}

// TestKilledRunnerRestarts kills a runner with SIGKILL: the supervisor
// sees a crash and starts it again after the backoff.
func TestKilledRunnerRestarts(t *testing.T) {
	home := t.TempDir()
	dir := runner.AgentDir(home, "a1")
	start(t, supervisor.Config{Home: home, Backoff: supervisor.Backoff{Initial: runner.Duration(50 * time.Millisecond)},
		Command: fakeRunner(t, "while :; do sleep 0.05; done\n")})
	first := waitRunning(t, dir, 0)
	require.Eventually(t, func() bool { return starts(dir) == 1 }, waitTimeout, 10*time.Millisecond,
		"the script notes its start once it runs")
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	waitRunning(t, dir, first)
	st := readState(t, dir)
	require.Equal(t, 1, st.RestartCount)
	require.Eventually(t, func() bool { return starts(dir) == 2 }, waitTimeout, 10*time.Millisecond,
		"the second start")
}

// TestStatusTable prints the table of two agents' state files.
func TestStatusTable(t *testing.T) {
	home := t.TempDir()
	clock := &fakeClock{}
	_, done := start(t, supervisor.Config{Home: home, Command: fakeRunner(t, "exit 2\n"), After: clock.After,
		Agents: []runner.Spec{spec("zed"), spec("amy")}})
	wait(t, done)
	agents, err := supervisor.Agents(home)
	require.NoError(t, err)
	require.Len(t, agents, 2)
	var b strings.Builder
	require.NoError(t, supervisor.WriteTable(&b, agents, time.Now()))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^AGENT\s+STATUS\s+PID\s+RESTARTS\s+BACKOFF\s+HEARTBEAT\s+LAST ERROR$`, lines[0])
	require.Regexp(t, `^amy\s+fatal\s+-\s+0\s+0s\s+\d+s ago\s+exit code 2$`, lines[1])
	require.Regexp(t, `^zed\s+fatal`, lines[2])

	none, err := supervisor.Agents(t.TempDir())
	require.NoError(t, err)
	require.Empty(t, none)
}

// TestConfigRefused pins the config checks.
func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]supervisor.Config{
		"no agents":  {Command: []string{"x"}},
		"duplicate":  {Command: []string{"x"}, Agents: []runner.Spec{spec("a"), spec("a")}},
		"bad name":   {Command: []string{"x"}, Agents: []runner.Spec{spec("a b")}},
		"no backend": {Command: []string{"x"}, Agents: []runner.Spec{{Name: "a", Mission: "m"}}},
		"no mission": {Command: []string{"x"}, Agents: []runner.Spec{{Name: "a", Backend: spec("a").Backend}}},
		"runtime":    {Command: []string{"x"}, Agents: []runner.Spec{spec("a")}, Container: &supervisor.Container{Runtime: "lxc", Image: "i"}},
		"own tool":   {Command: []string{"x"}, Agents: []runner.Spec{withTools(spec("a"), "agentchat_listen")}},
		"no tool":    {Command: []string{"x"}, Agents: []runner.Spec{withTools(spec("a"), "agentchat_sned")}},
	} {
		_, err := supervisor.New(cfg)
		require.ErrorIs(t, err, supervisor.ErrConfig, name)
	}
	path := filepath.Join(t.TempDir(), "sup.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"agents":[{"name":"a","mission":"m","backend":{"type":"cli","command":["x"]}}],"backof":{}}`), 0o600))
	_, err := supervisor.ReadFile(path)
	require.ErrorContains(t, err, `unknown field "backof"`)
}
