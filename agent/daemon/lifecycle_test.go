package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/agent/daemon"
)

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

func TestStalePidFileReplaced(t *testing.T) {
	n := startNode(t, noLimits)
	cfg := testConfig(t, n)
	dir := daemon.InstanceDir(cfg.BaseDir, cfg.Instance)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	stale := deadPid(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "daemon.pid"), []byte(strconv.Itoa(stale)), 0o600))

	info, err := daemon.Status(cfg.BaseDir, cfg.Instance)
	require.NoError(t, err)
	require.False(t, info.Running, "a pid file of a dead process is not a running daemon")
	require.Equal(t, stale, info.PID)

	r := startDaemon(t, cfg)
	pid, err := os.ReadFile(r.path("daemon.pid"))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid()), string(pid))
	require.Contains(t, logText(t, r), "replacing stale pid file content="+strconv.Itoa(stale))

	// A second daemon on the same instance is refused while the first runs.
	d2, err := daemon.New(cfg)
	require.NoError(t, err)
	err = d2.Run(ctxT(t))
	require.ErrorIs(t, err, daemon.ErrAlreadyRunning)
	require.FileExists(t, r.path("daemon.pid"), "the refused daemon leaves the pid file alone")

	require.NoError(t, r.stop(t))
	require.NoFileExists(t, r.path("daemon.pid"))
}

// A live process named in the pid file (one not holding the lock, like the
// original daemon) also keeps the instance.
func TestLivePidFileRefused(t *testing.T) {
	n := startNode(t, noLimits)
	cfg := testConfig(t, n)
	dir := daemon.InstanceDir(cfg.BaseDir, cfg.Instance)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pidPath := filepath.Join(dir, "daemon.pid")
	require.NoError(t, os.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600))
	d, err := daemon.New(cfg)
	require.NoError(t, err)
	require.ErrorIs(t, d.Run(ctxT(t)), daemon.ErrAlreadyRunning)
	b, err := os.ReadFile(pidPath)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(cmd.Process.Pid), string(b))
}

// startChild runs a daemon in a child process (see TestMain) and returns
// the command and a channel that yields its exit once; cleanup kills it if
// it still runs and waits for it.
func startChild(t *testing.T, cc childConfig) (*exec.Cmd, <-chan error) {
	t.Helper()
	b, err := json.Marshal(cc)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd, done
}

func TestStatusListStop(t *testing.T) {
	n := startNode(t, noLimits)
	base := t.TempDir()
	cmd, done := startChild(t, childConfig{URL: n.URL, BaseDir: base, Instance: "worker/1"})
	pid := cmd.Process.Pid
	var info daemon.Info
	waitFor(t, func() bool {
		var err error
		info, err = daemon.Status(base, "worker1")
		return err == nil && info.Running && info.Connected && len(info.Channels) == 2
	}, "the child daemon connected")
	require.Equal(t, pid, info.PID)
	require.Equal(t, "worker1", info.Instance, "the instance name is stripped to [A-Za-z0-9_-]")
	require.Equal(t, n.URL, info.URL)
	require.True(t, strings.HasPrefix(info.AgentID, "@"))

	list, err := daemon.List(base)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, info.PID, list[0].PID)

	stopped, err := daemon.Stop(ctxT(t), base, "worker1")
	require.NoError(t, err)
	require.Equal(t, pid, stopped)
	select {
	case err := <-done:
		require.NoError(t, err, "the daemon exits 0 on SIGTERM")
	case <-time.After(waitTimeout):
		t.Fatal("the child did not exit")
	}
	require.NoFileExists(t, filepath.Join(base, "worker1", "daemon.pid"))
	info, err = daemon.Status(base, "worker1")
	require.NoError(t, err)
	require.False(t, info.Running)
	require.Zero(t, info.PID)

	_, err = daemon.Stop(ctxT(t), base, "worker1")
	require.ErrorIs(t, err, daemon.ErrNotRunning)
}

func TestStartBackground(t *testing.T) {
	n := startNode(t, noLimits)
	base := t.TempDir()
	b, err := json.Marshal(childConfig{URL: n.URL, BaseDir: base, Instance: "bg"})
	require.NoError(t, err)
	t.Setenv(childEnv, string(b))
	pid, err := daemon.StartBackground(os.Args[0], []string{"-test.run=^$"}, base, "bg", waitTimeout)
	require.NoError(t, err)
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	})
	info, err := daemon.Status(base, "bg")
	require.NoError(t, err)
	require.True(t, info.Running)
	require.Equal(t, pid, info.PID)
	waitFor(t, func() bool {
		info, err := daemon.Status(base, "bg")
		return err == nil && info.Connected
	}, "the background daemon connected")
	_, err = daemon.Stop(ctxT(t), base, "bg")
	require.NoError(t, err)
	require.NoFileExists(t, filepath.Join(base, "bg", "daemon.pid"))

	// A daemon that cannot start reports why.
	b, err = json.Marshal(childConfig{URL: "not a url", BaseDir: base, Instance: "bad"})
	require.NoError(t, err)
	t.Setenv(childEnv, string(b))
	_, err = daemon.StartBackground(os.Args[0], []string{"-test.run=^$"}, base, "bad", waitTimeout)
	require.ErrorContains(t, err, "daemon exited at start")
	require.ErrorContains(t, err, "scheme must be ws:// or wss://")
}

// The daemon gives up after MaxReconnectTime without the node, at start and
// after a drop, and still removes its pid file.
func TestGivesUpWithoutNode(t *testing.T) {
	t.Run("at start", func(t *testing.T) {
		n := startNode(t, noLimits)
		cfg := testConfig(t, n)
		require.NoError(t, n.Stop())
		cfg.MaxReconnectTime = 300 * time.Millisecond
		r := launch(t, cfg)
		select {
		case err := <-r.done:
			require.ErrorIs(t, err, daemon.ErrGaveUp)
			r.once.Do(func() {}) // already stopped
		case <-time.After(waitTimeout):
			t.Fatal("the daemon did not give up")
		}
		require.NoFileExists(t, r.path("daemon.pid"))
		require.Contains(t, logText(t, r), "[WARN] connect failed; retrying attempt=1")
	})
	t.Run("after a drop", func(t *testing.T) {
		n := startNode(t, noLimits)
		cfg := testConfig(t, n)
		cfg.MaxReconnectTime = 300 * time.Millisecond
		r := startDaemon(t, cfg)
		require.NoError(t, n.Stop())
		select {
		case err := <-r.done:
			require.ErrorIs(t, err, daemon.ErrGaveUp)
			r.once.Do(func() {})
		case <-time.After(waitTimeout):
			t.Fatal("the daemon did not give up")
		}
		require.NoFileExists(t, r.path("daemon.pid"))
		require.Contains(t, logText(t, r), "[WARN] disconnected; reconnecting")
		require.Contains(t, logText(t, r), "[ERROR] daemon stopped")
	})
}

func TestStopUnknownInstance(t *testing.T) {
	_, err := daemon.Stop(context.Background(), t.TempDir(), "nobody")
	require.True(t, errors.Is(err, daemon.ErrNotRunning), "%v", err)
	list, err := daemon.List(filepath.Join(t.TempDir(), "none"))
	require.NoError(t, err)
	require.Empty(t, list)
}
