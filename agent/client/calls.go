package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentchat/mesh/protocol"
)

// reply describes what answers a request (see doc.go).
type reply struct {
	// take claims the frames of the reply.
	take func(*frame) bool
	// fenced writes a PING after the request; its PONG ends the reply.
	fenced bool
	// final ends an unfenced reply; nil means the first taken frame does.
	final func(*frame) bool
	// need, with fenced, means a taken frame is required: if the fence
	// passes without one (a node that answers later), the call keeps
	// waiting for it until its context ends.
	need bool
}

// call sends msg on the live connection, waiting for one if the client is
// reconnecting, and returns the reply frames. ctx is bounded by CallTimeout.
func (c *Client) call(ctx context.Context, msg any, r reply) ([]*frame, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	return c.do(ctx, nil, msg, r)
}

// do sends msg on s (nil: the live session) and waits for its reply. A
// request that found its connection already gone was never written, so it
// is tried again on the next connection.
func (c *Client) do(ctx context.Context, s *session, msg any, r reply) ([]*frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // promptly, without touching the connection
	}
	b, err := protocol.Encode(msg)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	msgs := [][]byte{b}
	if r.fenced {
		msgs = append(msgs, pingFrame)
	}
	var stale *session
	for {
		cur := s
		if cur == nil {
			if cur, err = c.waitSession(ctx, stale); err != nil {
				return nil, err
			}
		}
		frames, err := c.roundTrip(ctx, cur, msgs, r)
		if errors.Is(err, errNotSent) && s == nil && c.opts.Reconnect && !c.isClosing() {
			stale = cur
			continue
		}
		return frames, err
	}
}

// roundTrip writes msgs on s as one request and waits for the reply.
func (c *Client) roundTrip(ctx context.Context, s *session, msgs [][]byte, r reply) ([]*frame, error) {
	if err := c.pace.reserve(ctx, len(msgs)); err != nil {
		return nil, err
	}
	var w *watcher
	if r.need {
		// Registered first: a late reply must find it even if it arrives
		// right after the fence.
		w = s.watch(r.take)
		defer s.unwatch(w)
	}
	p := &pending{take: r.take, fenced: r.fenced, final: r.final, done: make(chan struct{})}
	if err := s.request(p, msgs...); err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err() // p keeps its place in the queue (doc.go)
	}
	if p.err != nil {
		return nil, p.err
	}
	if len(p.frames) > 0 || !r.need {
		return p.frames, nil
	}
	select {
	case f, ok := <-w.ch:
		if !ok {
			endErr, _ := s.result()
			return nil, endErr
		}
		return []*frame{f}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// waitSession returns the live session, waiting while the client
// reconnects; stale, a session known to have ended, does not count.
func (c *Client) waitSession(ctx context.Context, stale *session) (*session, error) {
	for {
		c.mu.Lock()
		s, changed := c.sess, c.changed
		c.mu.Unlock()
		if s != nil && s != stale {
			return s, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, c.stopErr()
		}
	}
}

// firstOf returns the first frame of type typ among a reply's frames.
func firstOf(frames []*frame, typ string) (*frame, error) {
	for _, f := range frames {
		if f.hdr.Type == typ {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%w: expected %s", ErrNoReply, typ)
}
