package ledger

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
)

// maxHookErrors bounds the errors Hooks keeps for Errors.
const maxHookErrors = 100

// HookFunc handles one escrow event. An error is recorded and logged; it
// never stops the other handlers or the settlement that emitted the event.
type HookFunc func(Event) error

// HookError is a handler failure recorded by Hooks.
type HookError struct {
	Event      string
	ProposalID string
	Err        error
}

// Hooks is the in-process extension point of PROTOCOL.md §19: handlers
// registered per event run sequentially, in registration order, on the
// goroutine that emits the event. A handler error (or panic) is recorded
// and the next handler still runs. The zero value is ready to use (and
// logs nothing); a nil *Hooks emits nothing. Safe for concurrent use.
type Hooks struct {
	logger *slog.Logger

	mu       sync.Mutex // guards handlers and errs; never held while a handler runs
	handlers map[string][]*hookEntry
	errs     []HookError
}

type hookEntry struct{ fn HookFunc }

// NewHooks returns an empty hook registry. A nil logger discards.
func NewHooks(logger *slog.Logger) *Hooks {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hooks{logger: logger.With("component", "ledger.hooks"), handlers: make(map[string][]*hookEntry)}
}

// On registers fn for event and returns a function that unregisters it
// (calling it more than once is harmless). An unknown event name or a nil
// fn is a wiring mistake and panics, as the original throws.
func (h *Hooks) On(event string, fn HookFunc) (unsubscribe func()) {
	if !eventNames[event] {
		panic(fmt.Sprintf("ledger: unknown escrow event %q", event))
	}
	if fn == nil {
		panic("ledger: nil escrow hook")
	}
	e := &hookEntry{fn: fn}
	h.mu.Lock()
	if h.handlers == nil {
		h.handlers = make(map[string][]*hookEntry)
	}
	h.handlers[event] = append(h.handlers[event], e)
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.handlers[event] = slices.DeleteFunc(h.handlers[event], func(x *hookEntry) bool { return x == e })
	}
}

// Count returns the number of handlers registered for event.
func (h *Hooks) Count(event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.handlers[event])
}

// Emit runs the handlers of ev.Event in order and returns their errors
// (nil if all succeeded). Handlers registered or removed while Emit runs
// take effect from the next Emit.
func (h *Hooks) Emit(ev Event) []error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	hs := slices.Clone(h.handlers[ev.Event])
	h.mu.Unlock()
	var errs []error
	for _, e := range hs {
		if err := runHook(e.fn, ev); err != nil {
			errs = append(errs, err)
			h.record(HookError{Event: ev.Event, ProposalID: ev.ProposalID, Err: err})
		}
	}
	return errs
}

// runHook calls fn, turning a panic into an error: a broken extension must
// not take settlement down with it.
func runHook(fn HookFunc, ev Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("escrow hook panicked: %v", p)
		}
	}()
	return fn(ev)
}

func (h *Hooks) record(he HookError) {
	if h.logger != nil {
		h.logger.Warn("escrow hook failed", "event", he.Event, "proposal", he.ProposalID, "err", he.Err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == maxHookErrors {
		h.errs = slices.Delete(h.errs, 0, 1)
	}
	h.errs = append(h.errs, he)
}

// Errors returns the most recent handler failures (at most 100), oldest
// first.
func (h *Hooks) Errors() []HookError {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.errs)
}
