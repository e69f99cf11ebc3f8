package p2p

import (
	"context"
	"log/slog"
)

// demoted lists GossipSub log messages logged at Warn that are routine under
// load and would flood the log: the connection manager's tag queue (128
// entries, fixed in libp2p) overflows on any burst, which only means a peer's
// connection priority is bumped a little less. They are logged at Debug.
var demoted = map[string]bool{
	"error bumping delivery tag": true,
}

// demoteHandler lowers the level of the demoted messages before passing
// records on.
type demoteHandler struct{ slog.Handler }

// routerLogger wraps log for GossipSub.
func routerLogger(log *slog.Logger) *slog.Logger {
	return slog.New(demoteHandler{log.Handler()})
}

// Handle passes r on, at Debug if it is demoted.
func (d demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	if demoted[r.Message] && r.Level > slog.LevelDebug {
		r.Level = slog.LevelDebug
	}
	if !d.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return d.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (d demoteHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteHandler{d.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (d demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{d.Handler.WithGroup(name)}
}
