package client

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// run is the supervisor goroutine: it waits for the live session to end,
// reconnects when asked to, and at the very end waits for the helpers,
// closes Events and marks the client done.
func (c *Client) run(s *session) {
	defer close(c.done)
	defer close(c.events) // after the last reader: nothing emits any more
	defer c.helpers.Wait()
	for s != nil {
		select {
		case <-s.done:
		case <-c.closing:
			s.shutdown()
		}
		c.detach(s)
		endErr, stop := s.result()
		switch {
		case c.isClosing():
			c.finish(ErrClosed)
			return
		case stop != nil || !c.opts.Reconnect:
			c.log.Info("disconnected", "err", endErr)
			c.emit(&Disconnected{Err: endErr})
			c.finish(endErr)
			return
		}
		c.log.Warn("connection lost; reconnecting", "err", endErr)
		c.emit(&Disconnected{Err: endErr, Reconnecting: true})
		s = c.reconnect()
	}
}

// reconnect dials again with backoff until it succeeds, the client is
// closed, the node refuses the identity, or MaxReconnectTime passes. It
// returns the new live session, or nil after calling finish.
func (c *Client) reconnect() *session {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(c.backoff(attempt))
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			c.finish(ErrClosed)
			return nil
		}
		if limit := c.opts.MaxReconnectTime; limit > 0 && time.Since(start) > limit {
			err := fmt.Errorf("%w: gave up reconnecting after %v", ErrDisconnected, limit)
			c.emit(&Disconnected{Err: err})
			c.finish(err)
			return nil
		}
		s, w, err := c.connect(c.ctx)
		if err != nil {
			if c.isClosing() {
				c.finish(ErrClosed)
				return nil
			}
			var se *ServerError
			if errors.As(err, &se) && fatalCode(se.Code) {
				c.log.Warn("node refused the identity; not reconnecting", "err", err)
				c.emit(&Disconnected{Err: err})
				c.finish(err)
				return nil
			}
			c.log.Info("reconnect failed", "attempt", attempt, "err", err)
			continue
		}
		c.attach(s, w)
		ev := &Reconnected{Attempt: attempt, Welcome: w, Failed: map[string]error{}}
		for _, ch := range c.Channels() {
			if _, err := c.join(c.ctx, s, ch, true); err != nil {
				ev.Failed[ch] = err
				var se *ServerError
				if errors.As(err, &se) {
					c.forget(ch)
				}
				continue
			}
			ev.Channels = append(ev.Channels, ch)
		}
		if c.isClosing() {
			return s // the supervisor sees the close next
		}
		c.log.Info("reconnected", "agent", w.AgentID, "attempt", attempt, "channels", len(ev.Channels))
		c.emit(ev)
		return s
	}
}

// fatalCode reports whether a handshake refusal will not change by trying
// again.
func fatalCode(code protocol.Code) bool {
	switch code {
	case protocol.CodeBanned, protocol.CodeNotAllowed, protocol.CodeVerificationFailed:
		return true
	}
	return false
}

// backoff is the delay before reconnect attempt n (from 1):
// min(ReconnectMin × 2^(n−1), ReconnectMax) + jitter in [0, ReconnectMin/2).
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.ReconnectMax
	if n-1 < 32 {
		if e := c.opts.ReconnectMin << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	if j := int64(c.opts.ReconnectMin / 2); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	return d
}
