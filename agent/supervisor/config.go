package supervisor

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/agentchat/mesh/agent/runner"
	"github.com/agentchat/mesh/protocol"
)

// File is the supervisor's config file (`agentchat supervise --config`):
// the agents, each a runner spec, and the restart policy.
type File struct {
	Agents    []runner.Spec `json:"agents"`
	Backoff   Backoff       `json:"backoff,omitempty"`
	Container *Container    `json:"container,omitempty"`
}

// ReadFile reads and checks a config file; unknown fields are refused.
func ReadFile(path string) (File, error) {
	var f File
	data, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := runner.DecodeStrict(data, &f); err != nil {
		return f, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	return f, nil
}

// Config configures a Supervisor.
type Config struct {
	// Agents are the agents to keep running; names must be unique, and
	// each spec must make a usable runner config with this process's
	// environment (runner.Spec.Check).
	Agents []runner.Spec
	// Backoff is the restart policy.
	Backoff Backoff
	// Home holds .agentchat (the agents' state directories); "" means the
	// user's home directory.
	Home string
	// Command is the runner command; the supervisor appends
	// "--home <Home> --spec <state dir>/agent.json". Required (cmd passes
	// its own executable and "run").
	Command []string
	// Container, if set, runs each runner inside a container.
	Container *Container
	// Logger receives lifecycle logs of every agent (each agent's are also
	// in its supervisor.log); nil discards them.
	Logger *slog.Logger
	// Poll is how often the stop file is checked and the heartbeat
	// touched. Zero means 1 s.
	Poll time.Duration
	// After is the clock of the backoff waits; nil means time.After.
	After func(time.Duration) <-chan time.Time
	// MaxLogSize bounds each agent's supervisor.log and runner.log: past
	// it, checked every Poll and at every start, the file's content moves
	// to <file>.1. Zero means DefaultMaxLogSize.
	MaxLogSize int64
}

// DefaultPoll and DefaultMaxLogSize are Config.Poll's and MaxLogSize's
// defaults.
const (
	DefaultPoll       = time.Second
	DefaultMaxLogSize = 10 << 20
)

func (c Config) withDefaults() (Config, error) {
	if len(c.Agents) == 0 {
		return c, fmt.Errorf("%w: no agents", ErrConfig)
	}
	seen := map[string]bool{}
	for _, a := range c.Agents {
		if a.Name == "" || len(a.Name) > protocol.NickMax || !protocol.ValidName(a.Name) {
			return c, fmt.Errorf("%w: agent name %q: use 1-%d letters, digits, '-' or '_'", ErrConfig, a.Name, protocol.NickMax)
		}
		if seen[a.Name] {
			return c, fmt.Errorf("%w: agent %s is listed twice", ErrConfig, a.Name)
		}
		seen[a.Name] = true
	}
	for _, a := range c.Agents {
		if err := a.Check(os.Getenv, c.Home); err != nil {
			return c, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if len(c.Command) == 0 {
		return c, fmt.Errorf("%w: no runner command", ErrConfig)
	}
	if c.Home == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return c, fmt.Errorf("%w: no home directory: %v", ErrConfig, err)
		}
		c.Home = home
	}
	if c.Container != nil {
		if err := c.Container.check(); err != nil {
			return c, err
		}
	}
	c.Backoff = c.Backoff.withDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.After == nil {
		c.After = time.After
	}
	if c.MaxLogSize <= 0 {
		c.MaxLogSize = DefaultMaxLogSize
	}
	return c, nil
}
