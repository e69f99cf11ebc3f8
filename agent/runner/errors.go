package runner

import (
	"errors"
	"fmt"
)

var (
	// ErrConfig means the runner's configuration is unusable; retrying
	// cannot help (the runner's exit code 2, which stops a supervisor).
	ErrConfig = errors.New("runner config")
	// ErrBackend means the backend failed a turn (its command exited
	// non-zero, or the API answered an error).
	ErrBackend = errors.New("backend")
	// ErrBusy means another live runner holds the agent's state directory
	// (its runner.pid).
	ErrBusy = errors.New("agent busy")
)

// EndError is how a guard ends a session: Reason is one of the End*
// constants, Detail says what was exceeded.
type EndError struct {
	Reason string
	Detail string
}

func (e *EndError) Error() string {
	return fmt.Sprintf("session ended by %s guard: %s", e.Reason, e.Detail)
}

// How a session ended, as session.json's ended_by records it: a guard's
// reason, or one of the last three.
const (
	EndBudget  = "budget"
	EndSends   = "max-sends"
	EndTools   = "max-tools"
	EndTimeout = "timeout"
	EndStall   = "stall"
	EndDeadAir = "dead-air"
	EndStopped = "stopped" // the runner was asked to stop (not a guard)
	EndCrash   = "error"   // the session failed (not a guard)
	EndFatal   = "fatal"   // the configuration is unusable (not a guard)
)

// Exit codes of `agentchat run`, which the supervisor reads (PROTOCOL.md
// §23: 2 is non-recoverable).
const (
	ExitClean = 0 // stopped by a signal or its context
	ExitCrash = 1 // an error; the supervisor restarts with backoff
	ExitFatal = 2 // bad configuration; the supervisor gives up
	ExitGuard = 3 // a guard ended the session; the supervisor restarts after the base delay
)

// ExitCode maps the error Run returned to the process exit code.
func ExitCode(err error) int {
	var end *EndError
	switch {
	case err == nil:
		return ExitClean
	case errors.Is(err, ErrConfig):
		return ExitFatal
	case errors.As(err, &end):
		return ExitGuard
	default:
		return ExitCrash
	}
}
