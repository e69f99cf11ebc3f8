package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Files of a session in the state directory.
const (
	sessionNumFile = "session_num"
	// SessionFile is session.json, which the supervisor reads.
	SessionFile = "session.json"
	// PidFile is runner.pid: the runner's pid, locked while it runs, so a
	// second runner of the agent is refused and a supervisor finds a
	// runner an earlier one left.
	PidFile = "runner.pid"
)

// Session is what session.json holds: the current or last session of an
// agent, its counters, and, once it ended, why.
type Session struct {
	Num       int    `json:"session"`
	PID       int    `json:"pid"`
	AgentID   string `json:"agent_id,omitempty"`
	StartedAt string `json:"started_at"`
	EndedAt   string `json:"ended_at,omitempty"`
	// EndedBy is "" while the session runs, then an End* reason.
	EndedBy   string `json:"ended_by,omitempty"`
	Error     string `json:"error,omitempty"`
	Tokens    int64  `json:"tokens_total"`
	Sends     int    `json:"sends"`
	ToolCalls int    `json:"tool_calls"`
}

// nextSession increments session_num in dir and returns the new number.
func nextSession(dir string) (int, error) {
	path := filepath.Join(dir, sessionNumFile)
	n := 0
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("read session number: %w", err)
	default:
		n, _ = strconv.Atoi(strings.TrimSpace(string(data))) // a garbled file restarts the count
	}
	n++
	if err := WriteFileAtomic(path, []byte(strconv.Itoa(n))); err != nil {
		return 0, fmt.Errorf("write session number: %w", err)
	}
	return n, nil
}

// write stores s as dir's session.json.
func (s Session) write(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, SessionFile), append(b, '\n'))
}

// ReadSession reads an agent's session.json.
func ReadSession(dir string) (Session, error) {
	var s Session
	data, err := os.ReadFile(filepath.Join(dir, SessionFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", SessionFile, err)
	}
	return s, nil
}

// stamp is the time format of the state files.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
