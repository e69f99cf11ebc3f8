package daemon

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// DetachedEnv is set in the environment of a daemon started by
// StartBackground, so the command it runs knows it has no terminal.
const DetachedEnv = "AGENTCHAT_DAEMON_DETACHED"

// StartBackground starts exe with args as a detached process (a new
// session, stdin from /dev/null, stdout and stderr appended to the
// instance's daemon.log) that is expected to run a daemon for the instance
// under base. It returns the child's pid once the child has written its pid
// file, or an error with the end of daemon.log if the child exits first or
// does not write it within timeout.
func StartBackground(exe string, args []string, base, instance string, timeout time.Duration) (int, error) {
	dir := InstanceDir(base, instance)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return 0, fmt.Errorf("start daemon: %w", err)
	}
	logPath := filepath.Join(dir, logFile)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, filePerm)
	if err != nil {
		return 0, fmt.Errorf("start daemon: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), DetachedEnv+"=1")
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start daemon: %w", err)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(timeout)
	for {
		if cur, err := readPid(filepath.Join(dir, pidFile)); err == nil && cur == pid {
			_ = cmd.Process.Release()
			return pid, nil
		}
		if reaped(pid) {
			return 0, fmt.Errorf("daemon exited at start; end of %s:\n%s", logPath, logTail(logPath, 10))
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Release()
			return pid, fmt.Errorf("daemon (pid %d) has not written its pid file after %v; see %s", pid, timeout, logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logTail returns the last n lines of a file.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
