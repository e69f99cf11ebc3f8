package runner

import (
	"fmt"
	"sync"
	"time"
)

// Guards bound a session, like the original's niki (PROTOCOL.md §23). A
// zero field takes the default named on it; a negative one turns the guard
// off.
type Guards struct {
	// Budget is the most tokens (prompt and reply, as the API reports them
	// or, for a command, estimated at 4 bytes a token) a session may use.
	// Default 10 000 000 (NIKI_BUDGET).
	Budget int64 `json:"budget,omitempty"`
	// MaxSends is the most messages the agent may send in any minute.
	// Default 10 (NIKI_MAX_SENDS).
	MaxSends int `json:"max_sends,omitempty"`
	// MaxTools is the most tool calls in any minute. Default 30
	// (NIKI_MAX_TOOLS).
	MaxTools int `json:"max_tools,omitempty"`
	// Timeout is the longest a session runs. Default 1 h (NIKI_TIMEOUT).
	Timeout Duration `json:"timeout,omitempty"`
	// Stall is the longest one backend turn may take. Default 10 min
	// (NIKI_STARTUP_TIMEOUT).
	Stall Duration `json:"stall,omitempty"`
	// DeadAir is the longest the session may go with nothing in or out.
	// Default 5 min (NIKI_DEAD_AIR_TIMEOUT).
	DeadAir Duration `json:"dead_air,omitempty"`
}

// Defaults of Guards.
const (
	DefaultBudget   = 10_000_000
	DefaultMaxSends = 10
	DefaultMaxTools = 30
	DefaultTimeout  = time.Hour
	DefaultStall    = 10 * time.Minute
	DefaultDeadAir  = 5 * time.Minute
)

func (g Guards) withDefaults() Guards {
	if g.Budget == 0 {
		g.Budget = DefaultBudget
	}
	if g.MaxSends == 0 {
		g.MaxSends = DefaultMaxSends
	}
	if g.MaxTools == 0 {
		g.MaxTools = DefaultMaxTools
	}
	if g.Timeout == 0 {
		g.Timeout = Duration(DefaultTimeout)
	}
	if g.Stall == 0 {
		g.Stall = Duration(DefaultStall)
	}
	if g.DeadAir == 0 {
		g.DeadAir = Duration(DefaultDeadAir)
	}
	return g
}

// guards is one session's counters against its Guards. Its methods are
// safe for concurrent use (a backend may call tools from its own
// goroutines).
type guards struct {
	cfg Guards
	now func() time.Time

	mu     sync.Mutex // guards the fields below
	tokens int64
	sends  []time.Time // within the last minute, oldest first
	tools  []time.Time
	nsend  int // totals for session.json
	ntool  int
	last   time.Time // last message in or out (dead air)
}

func newGuards(cfg Guards, now func() time.Time) *guards {
	return &guards{cfg: cfg, now: now, last: now()}
}

// window is the span the per-minute guards count over.
const window = time.Minute

// spend adds a turn's tokens and fails when the budget is gone.
func (g *guards) spend(tokens int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens += tokens
	if g.cfg.Budget > 0 && g.tokens > g.cfg.Budget {
		return &EndError{Reason: EndBudget, Detail: fmt.Sprintf("%d tokens used, budget %d", g.tokens, g.cfg.Budget)}
	}
	return nil
}

// tool counts a tool call (and a send, when send is set) and fails when
// either exceeds its per-minute bound. A refused call is not counted.
func (g *guards) tool(send bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.tools = trim(g.tools, now)
	if g.cfg.MaxTools > 0 && len(g.tools) >= g.cfg.MaxTools {
		return &EndError{Reason: EndTools, Detail: fmt.Sprintf("more than %d tool calls in a minute", g.cfg.MaxTools)}
	}
	if send {
		if err := g.sendLocked(now); err != nil {
			return err
		}
	}
	g.tools = append(g.tools, now)
	g.ntool++
	return nil
}

// send counts a message the runner sends for the backend.
func (g *guards) send() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sendLocked(g.now())
}

func (g *guards) sendLocked(now time.Time) error {
	g.sends = trim(g.sends, now)
	if g.cfg.MaxSends > 0 && len(g.sends) >= g.cfg.MaxSends {
		return &EndError{Reason: EndSends, Detail: fmt.Sprintf("more than %d messages sent in a minute", g.cfg.MaxSends)}
	}
	g.sends = append(g.sends, now)
	g.nsend++
	g.last = now
	return nil
}

// heard records a message in, which resets the dead-air clock.
func (g *guards) heard() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = g.now()
}

// quietUntil is when dead air ends the session if nothing moves; the zero
// time when the guard is off.
func (g *guards) quietUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg.DeadAir <= 0 {
		return time.Time{}
	}
	return g.last.Add(time.Duration(g.cfg.DeadAir))
}

// counts returns the session totals for session.json.
func (g *guards) counts() (tokens int64, sends, tools int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokens, g.nsend, g.ntool
}

// trim drops the times older than a window before now.
func trim(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= window {
		i++
	}
	return ts[i:]
}
