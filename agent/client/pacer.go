package client

import (
	"context"
	"time"
)

// pacer keeps the client's frame rate under a limit per window with a
// sliding log of send times, so the node's flood limit is never reached.
type pacer struct {
	limit  int
	window time.Duration
	// sem is a one-slot lock a waiter can give up on when its context ends.
	sem chan struct{}
	// sent holds the times of the last sends, oldest first; guarded by sem.
	sent []time.Time
}

// newPacer returns a pacer for limit frames per window, or nil (no pacing)
// when limit is negative.
func newPacer(limit int, window time.Duration) *pacer {
	if limit < 0 {
		return nil
	}
	return &pacer{limit: max(limit, 1), window: window, sem: make(chan struct{}, 1)}
}

// reserve waits until n more frames may be sent and records them as sent.
func (p *pacer) reserve(ctx context.Context, n int) error {
	if p == nil {
		return nil
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	for range n {
		if len(p.sent) >= p.limit {
			if wait := time.Until(p.sent[0].Add(p.window)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
			}
			p.sent = p.sent[1:]
		}
		p.sent = append(p.sent, time.Now())
	}
	return nil
}
