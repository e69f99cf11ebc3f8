package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentchat/mesh/agent/client"
	"github.com/agentchat/mesh/protocol"
)

// Daemon is one running instance (see the package doc). Create it with New
// and run it with Run.
type Daemon struct {
	cfg Config
	dir string
	ran atomic.Bool

	// Set by Run before the goroutines start; read-only afterwards.
	log *slog.Logger
	in  *inbox
	cl  *client.Client

	// connected is true while the client has a live session. Run's
	// goroutine writes it from the client's events; the outbox reads it.
	connected atomic.Bool
	statusMu  sync.Mutex // serialises writes of status.json
}

// New checks cfg and returns a daemon; it starts nothing.
func New(cfg Config) (*Daemon, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Daemon{cfg: cfg, dir: InstanceDir(cfg.BaseDir, cfg.Instance)}, nil
}

// Dir returns the instance directory.
func (d *Daemon) Dir() string { return d.dir }

// Run runs the daemon until ctx ends, then stops gracefully: the line being
// sent finishes, the connection is closed, and the pid file is removed. It
// returns nil after ctx ends, ErrAlreadyRunning when another process holds
// the instance, and an error wrapping ErrGaveUp when the node stayed out of
// reach for MaxReconnectTime or ended the session for good. Run may be
// called once.
func (d *Daemon) Run(ctx context.Context) (err error) {
	if !d.ran.CompareAndSwap(false, true) {
		return errors.New("daemon: Run called twice")
	}
	if err := os.MkdirAll(d.dir, dirPerm); err != nil {
		return fmt.Errorf("daemon: instance dir: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(d.dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, filePerm)
	if err != nil {
		return fmt.Errorf("daemon: open log: %w", err)
	}
	defer logf.Close()
	var h slog.Handler = newLogHandler(logf, d.cfg.LogLevel)
	if d.cfg.Logger != nil {
		h = slog.NewMultiHandler(h, d.cfg.Logger.Handler())
	}
	d.log = slog.New(h)

	lock, err := LockPidFile(filepath.Join(d.dir, pidFile), d.log)
	if err != nil {
		d.log.Error("cannot start", "err", err)
		return fmt.Errorf("daemon %s: %w", d.cfg.Instance, err)
	}
	defer lock.Release() // the very last step: Stop waits for it
	d.log.Info("daemon starting", "instance", d.cfg.Instance, "pid", os.Getpid(), "url", d.cfg.URL, "dir", d.dir)
	defer func() {
		if err != nil {
			d.log.Error("daemon stopped", "err", err)
		} else {
			d.log.Info("daemon stopped")
		}
	}()

	if d.in, err = openInbox(d.dir, d.cfg.InboxLines); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.cl, err = d.dial(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the node was reached
		}
		return fmt.Errorf("daemon: %w", err)
	}
	d.connected.Store(true)
	d.in.setSelf(d.cl.AgentID())
	d.log.Info("connected", "agent", d.cl.AgentID(), "url", d.cfg.URL)
	d.writeStatus()
	defer func() {
		_ = d.cl.Close()
		d.connected.Store(false)
		d.writeStatus()
	}()

	octx, stopOutbox := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { newOutbox(d).run(octx) })
	err = d.events(ctx)
	stopOutbox()
	wg.Wait()
	return err
}

// dial connects to the node, retrying with the §20 backoff for up to
// MaxReconnectTime. It returns ctx's error if ctx ends first.
func (d *Daemon) dial(ctx context.Context) (*client.Client, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		cl, err := client.Dial(ctx, client.Options{
			URL: d.cfg.URL, Name: d.cfg.Name, Identity: d.cfg.Identity, Logger: d.log,
			Reconnect: true, ReconnectMin: d.cfg.ReconnectMin, ReconnectMax: d.cfg.ReconnectMax,
			MaxReconnectTime: d.cfg.MaxReconnectTime, CallTimeout: d.cfg.CallTimeout,
			RawEvents: true, RateLimit: d.cfg.RateLimit,
		})
		if err == nil {
			return cl, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *client.ServerError
		if errors.As(err, &se) && refusesIdentity(se.Code) {
			return nil, fmt.Errorf("%w: %w", ErrGaveUp, err)
		}
		if time.Since(start) > d.cfg.MaxReconnectTime {
			return nil, fmt.Errorf("%w: no connection to %s within %v: %w", ErrGaveUp, d.cfg.URL, d.cfg.MaxReconnectTime, err)
		}
		delay := backoff(attempt, d.cfg.ReconnectMin, d.cfg.ReconnectMax)
		d.log.Warn("connect failed; retrying", "attempt", attempt, "in", delay.Round(time.Millisecond), "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// refusesIdentity reports whether a handshake refusal will not change by
// trying again.
func refusesIdentity(code protocol.Code) bool {
	switch code {
	case protocol.CodeBanned, protocol.CodeNotAllowed, protocol.CodeVerificationFailed, protocol.CodeInvalidName:
		return true
	}
	return false
}

// backoff is the delay before attempt n (from 1), §20:
// min(lo × 2^(n−1), hi) plus a jitter in [0, lo/2) — with the defaults
// min(2000 × 2^(n−1), 60000) ms + 0–999 ms.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := hi
	if n >= 1 && n-1 < 32 {
		if e := lo << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	if j := int64(lo / 2); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	return d
}

// events runs on Run's goroutine: it records the client's frames in the
// inbox and tracks the connection, until ctx ends (nil) or the client stops
// for good (an error wrapping ErrGaveUp).
func (d *Daemon) events(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-d.cl.Events():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("%w: %w", ErrGaveUp, d.cl.Err())
			}
			d.event(ev)
		}
	}
}

// event handles one client event; it runs on Run's goroutine.
func (d *Daemon) event(ev client.Event) {
	switch e := ev.(type) {
	case *client.RawEvent:
		if e.Type == protocol.TypeError {
			d.log.Warn("node sent an error", "frame", string(e.Data))
			return
		}
		if err := d.in.record(e.Type, e.Data); err != nil {
			d.log.Error("inbox write failed", "type", e.Type, "err", err)
		}
	case *client.Disconnected:
		d.connected.Store(false)
		if e.Reconnecting {
			d.log.Warn("disconnected; reconnecting", "err", e.Err)
		} else {
			d.log.Error("disconnected; giving up", "err", e.Err)
		}
		d.writeStatus()
	case *client.Reconnected:
		d.in.setSelf(e.Welcome.AgentID)
		d.connected.Store(true)
		d.log.Info("reconnected", "agent", e.Welcome.AgentID, "attempt", e.Attempt, "channels", len(e.Channels))
		for ch, err := range e.Failed {
			d.log.Warn("channel not re-joined", "channel", ch, "err", err)
		}
		d.writeStatus()
	}
}
