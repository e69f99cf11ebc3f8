//go:build unix

package daemon

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// processAlive reports whether a process with this pid exists (a zombie
// counts).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// terminate asks a process to stop (SIGTERM).
func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// lockFile takes an exclusive lock on f without waiting; it is released
// when f is closed or the process ends.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// detach makes cmd start in a new session, away from the terminal.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// reaped reports whether pid, a child of this process, has exited, and
// reaps it.
func reaped(pid int) bool {
	var ws syscall.WaitStatus
	got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	return got == pid || errors.Is(err, syscall.ECHILD)
}

// haveFlock: lockFile really locks here.
const haveFlock = true

// OwnGroup makes cmd start as the leader of a new process group, so that
// SignalGroup reaches it and every process it starts, and, on Linux, has it
// sent death when the thread that started it (so its parent) exits,
// however that exits (PR_SET_PDEATHSIG; Go keeps its threads, so this is
// the parent's death).
func OwnGroup(cmd *exec.Cmd, death syscall.Signal) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(attr, death)
	cmd.SysProcAttr = attr
}

// SignalGroup sends sig to the process group that pid leads (ESRCH when
// none is left). A group outlives its leader while a member lives, and its
// id is not reused as a pid meanwhile, so signalling the group of a leader
// already reaped reaches only what it left behind.
func SignalGroup(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return syscall.ESRCH
	}
	return syscall.Kill(-pid, sig)
}
