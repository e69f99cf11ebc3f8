package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pidLock is a held daemon.pid: the file names this process and, where the
// system has flock, stays locked while the daemon runs, so two daemons
// starting at once cannot both take the instance.
type pidLock struct {
	f    *os.File
	path string
	pid  int
}

// lockPid takes dir's pid file. A file naming a live process other than
// this one means the instance is taken (ErrAlreadyRunning); any other
// content is stale and replaced.
func lockPid(dir string, log *slog.Logger) (*pidLock, error) {
	path := filepath.Join(dir, pidFile)
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
		return &pidLock{f: f, path: path, pid: self}, nil
	}
	return nil, fmt.Errorf("pid file %s keeps changing", path)
}

// release removes the pid file if it still names this process, then
// unlocks it.
func (l *pidLock) release() {
	if pid, err := readPid(l.path); err == nil && pid == l.pid {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close()
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
