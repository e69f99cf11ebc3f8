package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/agentchat/mesh/agent/runner"
)

// Files of an agent's state directory that the supervisor owns.
const (
	StateFile     = "state.json"
	specFile      = "agent.json"
	logFile       = "supervisor.log"
	runnerLogFile = "runner.log"
	pidFile       = "supervisor.pid"
	heartbeatFile = ".heartbeat"
	// StopFile, created in an agent's state directory, stops the agent.
	StopFile = "stop"
)

// State is state.json (PROTOCOL.md §23). Backoff is in seconds.
type State struct {
	AgentName    string  `json:"agent_name"`
	Mission      string  `json:"mission"`
	Status       string  `json:"status"`
	LastError    string  `json:"last_error"`
	RestartCount int     `json:"restart_count"`
	Backoff      float64 `json:"backoff"`
	StartedAt    string  `json:"started_at"`
	UpdatedAt    string  `json:"updated_at"`
	PID          int     `json:"pid"`
}

// write stores st in dir.
func (st State) write(dir string) error {
	st.UpdatedAt = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return runner.WriteFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'))
}

// Agent is one row of `agentchat supervise status`: an agent's state and
// when the supervisor last touched its heartbeat (zero if never).
type Agent struct {
	State
	Dir       string
	Heartbeat time.Time
}

// Agents reads the state of every agent under home's agents directory,
// sorted by name. Directories without a state.json are skipped.
func Agents(home string) ([]Agent, error) {
	base := runner.AgentsDir(home)
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Agent
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, StateFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		a := Agent{Dir: dir}
		if err := json.Unmarshal(data, &a.State); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
		}
		if fi, err := os.Stat(filepath.Join(dir, heartbeatFile)); err == nil {
			a.Heartbeat = fi.ModTime()
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AgentName < out[j].AgentName })
	return out, nil
}
