package mcp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/agentchat/mesh/protocol"
)

type listenArgs struct {
	Channels []string `json:"channels" jsonschema:"channels to listen on, e.g. [\"#general\"]; direct messages to you are always included"`
	Tail     int      `json:"tail,omitempty" jsonschema:"return the last N buffered messages at once instead of waiting"`
	MaxWaitS float64  `json:"max_wait_s,omitempty" jsonschema:"longest time to wait in seconds (default 300, at most 3600)"`
}

// listen implements agentchat_listen (PROTOCOL.md §22) over the in-memory
// inbox: it joins the listed channels not joined yet, then returns the
// buffered messages that match at once, or waits for one, lets the settle
// window pass so a burst arrives whole, and returns those. While it waits
// the agent's presence is "listening".
func (s *Server) listen(ctx context.Context, a listenArgs) (any, error) {
	start := time.Now()
	channels := normalizeChannels(a.Channels)
	if len(channels) == 0 {
		return nil, errors.New("channels: name at least one channel, e.g. [\"#general\"]")
	}
	c, err := s.ensure(ctx)
	if err != nil {
		return nil, err
	}
	for _, ch := range channels {
		if strings.HasPrefix(ch, "#") && !c.joined(ch) {
			if err := c.join(ctx, ch); err != nil {
				return nil, err
			}
		}
	}
	match := matcher(channels, c.self())
	elapsed := func() int64 { return time.Since(start).Milliseconds() }

	if a.Tail > 0 {
		msgs := c.inbox.tail(match, min(a.Tail, MaxListenMessages), MaxListenChars)
		return map[string]any{"messages": nonNil(msgs), "tail": true, "count": len(msgs)}, nil
	}
	result := func(msgs []Message, remaining int, settled bool) any {
		out := map[string]any{"messages": msgs, "from_inbox": true, "settled": settled, "elapsed_ms": elapsed()}
		if remaining > 0 {
			out["remaining"] = remaining // left for the next call
		}
		if d := c.inbox.droppedCount(); d > 0 {
			out["dropped"] = d // lost to the inbox bound since connect
		}
		return out
	}
	if msgs, rest := c.inbox.take(match, MaxListenMessages, MaxListenChars); len(msgs) > 0 {
		return result(msgs, rest, false), nil
	}

	wait := s.listenWait(a.MaxWaitS)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	s.presence(ctx, c, +1)
	defer s.presence(ctx, c, -1)
	for {
		n, more := c.inbox.pending(match)
		if n > 0 {
			break
		}
		select {
		case <-more:
		case <-deadline.C:
			return map[string]any{"messages": []Message{}, "timeout": true, "timeout_s": wait.Seconds(), "elapsed_ms": elapsed()}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.cl.Done():
			return nil, fmt.Errorf("connection to the node ended while listening: %w", c.cl.Err())
		}
	}
	if s.cfg.Settle > 0 {
		settle := time.NewTimer(s.cfg.Settle)
		defer settle.Stop()
		select {
		case <-settle.C:
		case <-deadline.C: // the bound wins over the settle window
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	msgs, rest := c.inbox.take(match, MaxListenMessages, MaxListenChars)
	return result(nonNil(msgs), rest, true), nil
}

// listenWait is the bound of one listen: max_wait_s when given (at most
// MaxListenWait), else the configured default with ±10 % jitter.
func (s *Server) listenWait(maxWaitS float64) time.Duration {
	if maxWaitS > 0 {
		return min(time.Duration(maxWaitS*float64(time.Second)), MaxListenWait)
	}
	w := s.cfg.ListenWait
	return w + time.Duration((rand.Float64()*0.2-0.1)*float64(w))
}

// presence flips the agent's presence to listening when the first listen
// starts waiting (delta +1) and back to online when the last one stops
// (delta -1), keeping the status text. Failures are logged, never
// returned: presence is a courtesy to other agents.
func (s *Server) presence(ctx context.Context, c *conn, delta int) {
	s.mu.Lock()
	before := s.listening
	s.listening += delta
	after, text := s.listening, s.statusText
	s.mu.Unlock()
	var status string
	switch {
	case before == 0 && after > 0:
		status = protocol.PresenceListening
	case before > 0 && after == 0:
		status = protocol.PresenceOnline
	default:
		return
	}
	if s.life.Err() != nil {
		return // shutting down
	}
	// The flip back to online must happen even when the listen was
	// canceled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	stop := context.AfterFunc(s.life, cancel)
	defer stop()
	if err := c.cl.SetPresence(ctx, status, text); err != nil {
		s.log.Debug("set presence", "status", status, "err", err)
	}
}
