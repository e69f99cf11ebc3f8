package main

import (
	"context"
	"log/slog"
	"sort"

	golog "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/gologshim"
	"go.uber.org/zap/zapcore"
)

// routeLibp2pLogs sends libp2p's own logs into h, so they share our format
// and level: go-libp2p's slog loggers (gologshim, which adds a "logger"
// attribute naming the subsystem) and go-log's zap loggers, which the DHT
// and other IPFS libraries use. Both are process-wide, as libp2p's loggers
// are package variables. go-log's own per-subsystem gate is opened fully:
// h's level decides, so changing it (SIGHUP) changes libp2p's too.
func routeLibp2pLogs(h slog.Handler) {
	h = h.WithAttrs([]slog.Attr{slog.String("component", "libp2p")})
	gologshim.SetDefaultHandler(h)
	golog.SetPrimaryCore(zapToSlog{h: h})
	_ = golog.SetLogLevel("*", "debug") // a valid name: cannot fail
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// zapToSlog is a zapcore.Core writing every entry to a slog handler.
type zapToSlog struct{ h slog.Handler }

func (z zapToSlog) Enabled(l zapcore.Level) bool {
	return z.h.Enabled(context.Background(), slogLevel(l))
}

func (z zapToSlog) With(fields []zapcore.Field) zapcore.Core {
	return zapToSlog{h: z.h.WithAttrs(attrsOf(fields))}
}

func (z zapToSlog) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if z.Enabled(e.Level) {
		return ce.AddCore(e, z)
	}
	return ce
}

func (z zapToSlog) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(attrsOf(fields)...)
	return z.h.Handle(context.Background(), r)
}

func (z zapToSlog) Sync() error { return nil }

// attrsOf renders zap fields as slog attributes, in key order.
func attrsOf(fields []zapcore.Field) []slog.Attr {
	if len(fields) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]slog.Attr, len(keys))
	for i, k := range keys {
		out[i] = slog.Any(k, enc.Fields[k])
	}
	return out
}
