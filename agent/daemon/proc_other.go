//go:build !unix

package daemon

import (
	"os"
	"os/exec"
	"syscall"
)

// processAlive reports whether a process with this pid exists. Without
// signal 0 it asks the system for the process, which may be less exact.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

// terminate stops a process; without SIGTERM this is a kill, and the
// daemon's pid file is left for the next start to replace.
func terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// lockFile is a no-op without flock; the pid check alone guards the
// instance.
func lockFile(*os.File) error { return nil }

// detach has no session to leave here.
func detach(*exec.Cmd) {}

// reaped is unknown here; StartBackground waits for the pid file instead.
func reaped(int) bool { return false }

// haveFlock: lockFile does nothing here.
const haveFlock = false

// OwnGroup has no process groups to start here.
func OwnGroup(*exec.Cmd, syscall.Signal) {}

// SignalGroup has no groups to signal here (ESRCH: none is left).
func SignalGroup(int, syscall.Signal) error { return syscall.ESRCH }
