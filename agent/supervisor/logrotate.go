package supervisor

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// rotateLog keeps the log at path near max bytes: once it is larger, its
// content moves to path.1 (replacing the one before) and the file is
// truncated in place, so that a writer holding it open with O_APPEND (a
// runner's stdout, the supervisor's own log) goes on at its new start.
// What is written between the copy and the truncation is lost (the
// trade-off of a copy-and-truncate rotation, which a running writer needs).
func rotateLog(path string, max int64) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() <= max {
		return nil
	}
	if err != nil {
		return err
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(dst.Name(), path+".1")
	}
	if err != nil {
		_ = os.Remove(dst.Name())
		return err
	}
	return os.Truncate(path, 0)
}

// rotateLogs rotates the agent's supervisor.log and runner.log.
func (a *agent) rotateLogs() {
	for _, name := range []string{logFile, runnerLogFile} {
		if err := rotateLog(filepath.Join(a.dir, name), a.s.cfg.MaxLogSize); err != nil {
			a.log.Warn("rotate log", "file", name, "err", err)
		}
	}
}
