package supervisor

import (
	"time"

	"github.com/agentchat/mesh/agent/runner"
)

// Backoff is the restart policy (PROTOCOL.md §23). A zero field takes the
// default named on it.
type Backoff struct {
	// Initial is the first delay and the delay after a reset. Default 5 s.
	Initial runner.Duration `json:"initial,omitempty"`
	// Max caps the delay. Default 86 400 s.
	Max runner.Duration `json:"max,omitempty"`
	// ShortRun: a crash after at most this uptime doubles the delay; a
	// longer run resets it. Default 300 s.
	ShortRun runner.Duration `json:"short_run,omitempty"`
	// QuickCrash and MaxQuickCrashes: that many crashes in a row, each
	// within QuickCrash of starting, give up (status failed). Defaults
	// 10 s and 10.
	QuickCrash      runner.Duration `json:"quick_crash,omitempty"`
	MaxQuickCrashes int             `json:"max_quick_crashes,omitempty"`
	// Grace is how long a runner has to exit after SIGTERM before it is
	// killed. Default 8 s.
	Grace runner.Duration `json:"grace,omitempty"`
}

// Defaults of Backoff.
const (
	DefaultInitial         = 5 * time.Second
	DefaultMax             = 86400 * time.Second
	DefaultShortRun        = 300 * time.Second
	DefaultQuickCrash      = 10 * time.Second
	DefaultMaxQuickCrashes = 10
	DefaultGrace           = 8 * time.Second
)

func (b Backoff) withDefaults() Backoff {
	def := func(d *runner.Duration, v time.Duration) {
		if *d <= 0 {
			*d = runner.Duration(v)
		}
	}
	def(&b.Initial, DefaultInitial)
	def(&b.Max, DefaultMax)
	def(&b.ShortRun, DefaultShortRun)
	def(&b.QuickCrash, DefaultQuickCrash)
	def(&b.Grace, DefaultGrace)
	if b.MaxQuickCrashes <= 0 {
		b.MaxQuickCrashes = DefaultMaxQuickCrashes
	}
	return b
}

// Statuses of state.json (PROTOCOL.md §23).
const (
	StatusStarting = "starting"
	StatusRunning  = "running"
	StatusStopped  = "stopped" // asked to stop, or the runner exited cleanly
	StatusKilled   = "killed"  // a guard ended the session
	StatusCrashed  = "crashed"
	StatusFatal    = "fatal"  // exit code 2: not restarted
	StatusFailed   = "failed" // too many quick crashes: not restarted
)

// tracker applies the Backoff to one agent's runs. It is owned by the
// agent's goroutine.
type tracker struct {
	cfg      Backoff
	delay    time.Duration // the delay before the next restart after a crash
	quick    int           // crashes in a row within QuickCrash
	restarts int           // restarts since the last reset
}

func newTracker(cfg Backoff) *tracker {
	return &tracker{cfg: cfg, delay: time.Duration(cfg.Initial)}
}

// reset goes back to the initial delay and no restarts.
func (t *tracker) reset() {
	t.delay, t.quick, t.restarts = time.Duration(t.cfg.Initial), 0, 0
}

// ended records a run that exited with code after uptime and returns the
// status to record, the delay before the next start, and whether to start
// again at all.
func (t *tracker) ended(code int, uptime time.Duration) (status string, wait time.Duration, again bool) {
	switch code {
	case runner.ExitFatal:
		return StatusFatal, 0, false
	case runner.ExitClean:
		t.reset()
		return StatusStopped, t.delay, true
	case runner.ExitGuard:
		t.reset()
		return StatusKilled, t.delay, true
	}
	if uptime <= time.Duration(t.cfg.QuickCrash) {
		t.quick++
	} else {
		t.quick = 0
	}
	if t.quick >= t.cfg.MaxQuickCrashes {
		return StatusFailed, 0, false
	}
	if uptime > time.Duration(t.cfg.ShortRun) {
		t.reset()
	}
	wait = t.delay
	if uptime <= time.Duration(t.cfg.ShortRun) {
		t.delay = min(2*t.delay, time.Duration(t.cfg.Max))
	}
	t.restarts++
	return StatusCrashed, wait, true
}
