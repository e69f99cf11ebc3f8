//go:build unix

package testnet

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Exited reports whether the process pid has ended, for tests of process
// lifecycles (a runner and its children after a supervisor's death): no
// such process, or a zombie, which an orphan's new parent may never reap.
// Zombies are seen on Linux (/proc); elsewhere a zombie counts as alive.
func Exited(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	_, after, ok := strings.Cut(string(stat), ") ")
	return ok && strings.HasPrefix(after, "Z")
}

// Pids reads the process IDs a test's fake backend or runner recorded in
// path, one field each; a missing file holds none.
func Pids(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, pid)
	}
	return out, nil
}
