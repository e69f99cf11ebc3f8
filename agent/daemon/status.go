package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Info describes an instance as its files show it.
type Info struct {
	Instance string `json:"instance"`
	Dir      string `json:"dir"`
	// Running is true when the pid file names a live process.
	Running bool `json:"running"`
	// PID is the pid file's pid, 0 without one; with Running false it is
	// a stale file's.
	PID int `json:"pid,omitempty"`
	// Connected is true when the running daemon last reported a live
	// connection; the fields below come from the same report.
	Connected bool      `json:"connected"`
	URL       string    `json:"url,omitempty"`
	AgentID   string    `json:"agent_id,omitempty"`
	Channels  []string  `json:"channels,omitempty"`
	Updated   time.Time `json:"updated,omitzero"`
}

// statusReport is status.json.
type statusReport struct {
	PID       int      `json:"pid"`
	URL       string   `json:"url"`
	AgentID   string   `json:"agent_id"`
	Connected bool     `json:"connected"`
	Channels  []string `json:"channels"`
	UpdatedAt int64    `json:"updated_at"`
}

// writeStatus rewrites status.json from the daemon's state; it runs on
// either goroutine of Run.
func (d *Daemon) writeStatus() {
	d.statusMu.Lock()
	defer d.statusMu.Unlock()
	r := statusReport{PID: os.Getpid(), URL: d.cfg.URL, AgentID: d.cl.AgentID(),
		Connected: d.connected.Load(), Channels: d.cl.Channels(), UpdatedAt: time.Now().UnixMilli()}
	b, err := json.Marshal(r)
	if err == nil {
		err = writeAtomic(filepath.Join(d.dir, statusFile), b)
	}
	if err != nil {
		d.log.Error("status write failed", "err", err)
	}
}

// Status reports on an instance under base ("" means DefaultBaseDir). A
// missing instance is not an error: it is not running.
func Status(base, instance string) (Info, error) {
	dir := InstanceDir(base, instance)
	info := Info{Instance: filepath.Base(dir), Dir: dir}
	pid, err := readPid(filepath.Join(dir, pidFile))
	if err != nil {
		if isNotExist(err) {
			return info, nil
		}
		return info, fmt.Errorf("daemon status: %w", err)
	}
	info.PID = pid
	info.Running = processAlive(pid)
	if !info.Running {
		return info, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, statusFile))
	if err != nil {
		return info, nil // running, not yet connected
	}
	var r statusReport
	if json.Unmarshal(data, &r) != nil || r.PID != pid {
		return info, nil // a previous run's report
	}
	info.Connected, info.URL, info.AgentID, info.Channels = r.Connected, r.URL, r.AgentID, r.Channels
	info.Updated = time.UnixMilli(r.UpdatedAt)
	return info, nil
}

// List reports on every instance under base ("" means DefaultBaseDir), in
// name order.
func List(base string) ([]Info, error) {
	if base == "" {
		base = DefaultBaseDir()
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list daemons: %w", err)
	}
	var out []Info
	for _, e := range entries {
		if !e.IsDir() || SanitizeInstance(e.Name()) != e.Name() {
			continue
		}
		info, err := Status(base, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Stop sends SIGTERM to an instance's daemon and waits until it has
// removed its pid file or exited, or ctx ends. It returns the pid stopped,
// or ErrNotRunning (after removing a stale pid file).
func Stop(ctx context.Context, base, instance string) (int, error) {
	path := filepath.Join(InstanceDir(base, instance), pidFile)
	pid, err := readPid(path)
	if err != nil {
		if isNotExist(err) {
			return 0, fmt.Errorf("stop %s: %w", SanitizeInstance(instance), ErrNotRunning)
		}
		return 0, fmt.Errorf("stop %s: %w", SanitizeInstance(instance), err)
	}
	if !processAlive(pid) {
		removeStalePid(path, pid)
		return pid, fmt.Errorf("stop %s: %w (stale pid %d removed)", SanitizeInstance(instance), ErrNotRunning, pid)
	}
	if pid == os.Getpid() {
		return pid, fmt.Errorf("stop %s: the daemon runs in this process (pid %d); cancel its context instead", SanitizeInstance(instance), pid)
	}
	if err := terminate(pid); err != nil {
		return pid, fmt.Errorf("stop %s (pid %d): %w", SanitizeInstance(instance), pid, err)
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if cur, err := readPid(path); err != nil || cur != pid || !processAlive(pid) {
			return pid, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return pid, fmt.Errorf("stop %s (pid %d): still running: %w", SanitizeInstance(instance), pid, ctx.Err())
		}
	}
}
