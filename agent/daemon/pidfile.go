package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// PidLock is a held pid file (the daemon's daemon.pid, the supervisor's
// supervisor.pid, a runner's runner.pid): the file names this process and,
// where the system has flock, stays locked while the process runs, so two
// processes starting at once cannot both take it.
type PidLock struct {
	f    *os.File
	path string
	pid  int
}

// LockPidFile takes the pid file at path, creating it. A file locked by
// another process, or naming a live process other than this one, is taken
// (ErrAlreadyRunning, with the pid it names); any other content is stale
// and replaced (logged to log). Nothing else is written before the lock is
// held.
func LockPidFile(path string, log *slog.Logger) (*PidLock, error) {
	self := os.Getpid()
	for range 5 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
		if err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
		if err := lockFile(f); err != nil {
			_ = f.Close()
			pid, _ := readPid(path)
			return nil, fmt.Errorf("%w (pid %d, %s)", ErrAlreadyRunning, pid, path)
		}
		if !sameFile(f, path) {
			_ = f.Close() // removed by its owner between our open and lock
			continue
		}
		data, err := io.ReadAll(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("pid file: %w", err)
		}
		if old, err := parsePid(data); err == nil && old != self && processAlive(old) {
			_ = f.Close()
			return nil, fmt.Errorf("%w (pid %d, %s)", ErrAlreadyRunning, old, path)
		}
		if len(data) > 0 {
			log.Warn("replacing stale pid file", "content", string(data))
		}
		pid := []byte(strconv.Itoa(self))
		err = f.Truncate(0)
		if err == nil {
			_, err = f.WriteAt(pid, 0)
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("pid file: %w", err)
		}
		return &PidLock{f: f, path: path, pid: self}, nil
	}
	return nil, fmt.Errorf("pid file %s keeps changing", path)
}

// Release removes the pid file if it still names this process, then
// unlocks it.
func (l *PidLock) Release() {
	if pid, err := readPid(l.path); err == nil && pid == l.pid {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close()
}

// LockHolder reports the pid a live holder of the pid file at path has
// written, without taking the file: where the system has flock, the file
// is held while some process keeps it locked (a pid it names that has
// exited, or was reused, does not count); elsewhere while the pid it names
// is alive. A missing file has no holder.
func LockHolder(path string) (pid int, held bool) {
	f, err := os.OpenFile(path, os.O_RDWR, filePerm)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	pid, _ = readPid(path)
	if lockFile(f) != nil {
		return pid, true
	}
	if !haveFlock && pid > 0 && pid != os.Getpid() && processAlive(pid) {
		return pid, true
	}
	return 0, false
}

// sameFile reports whether f is still the file at path.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// readPid reads a pid file.
func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parsePid(data)
}

func parsePid(data []byte) (int, error) {
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file content %q is not a pid", data)
	}
	return pid, nil
}

// removeStalePid removes path if it still names pid.
func removeStalePid(path string, pid int) {
	if cur, err := readPid(path); err == nil && cur == pid {
		_ = os.Remove(path)
	}
}

// isNotExist reports a missing file.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
