package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The target's memory of routed requests (relay.go). Each routed frame
// carries a random ID its origin signs; the target runs the handler for an
// (origin, ID) once. A repeat, which is how a request tried directly and
// then routed arrives when the first attempt's answer was lost, gets the
// first answer again: it waits for it while the handler runs, and is
// answered from a cache while the origin still waits (its budget). A
// repeat after that, as a relay replaying a request would send, is
// refused. IDs are remembered for routeWindow, counted per origin, so one
// origin filling its quota cannot push another's IDs out.

const (
	// routeWindow is how far a routed request's origin time may be from
	// the target's clock; the target remembers request IDs this long.
	routeWindow = 5 * time.Minute
	// maxReplayPerOrigin bounds the IDs remembered for one origin within
	// routeWindow; past it that origin's routed requests are refused until
	// its old IDs expire.
	maxReplayPerOrigin = 1 << 12
	// maxReplayIDs bounds the IDs remembered for all origins together.
	maxReplayIDs = 1 << 20
	// maxReplyBytesPerOrigin and maxReplyBytes bound the answers kept for
	// repeats; an answer that does not fit is not kept, and a repeat of its
	// request is refused rather than run again.
	maxReplyBytesPerOrigin = 16 << 20
	maxReplyBytes          = 64 << 20
)

var errReplayed = errors.New("request replayed")

// routeKey names one routed request.
type routeKey struct {
	origin peer.ID
	id     [16]byte
}

// answer is the target's record of one routed request.
type answer struct {
	at       int64         // origin time
	done     chan struct{} // closed once reply is set
	reply    []byte        // the signed answer; nil once not kept
	keepTill time.Time     // when reply is dropped
}

// originReplays is one origin's share of the guard.
type originReplays struct {
	seen       map[[16]byte]*answer
	replyBytes int
}

// replayGuard remembers routed requests answered within routeWindow.
type replayGuard struct {
	mu         sync.Mutex
	origins    map[peer.ID]*originReplays
	ids        int       // entries in all origins
	replyBytes int       // bytes of kept replies in all origins
	lastPrune  time.Time // of IDs and replies
	// lastReplyPrune is when a reply that did not fit last dropped every
	// origin's replies past their time.
	lastReplyPrune time.Time
}

// admit returns the record of request k with origin time at. fresh means
// the caller runs the handler and must call finish; otherwise the record
// is an earlier attempt's, to be waited for with wait.
func (g *replayGuard) admit(k routeKey, at int64, now time.Time) (a *answer, fresh bool, err error) {
	if d := now.Sub(time.Unix(0, at)); d > routeWindow || d < -routeWindow {
		return nil, false, fmt.Errorf("request time %s off this node's clock", d.Round(time.Second))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.origins == nil {
		g.origins = map[peer.ID]*originReplays{}
	}
	if now.Sub(g.lastPrune) > routeWindow/4 {
		g.lastPrune = now
		g.prune(now)
	}
	o := g.origins[k.origin]
	if o != nil {
		if a := o.seen[k.id]; a != nil {
			return a, false, nil
		}
	}
	switch {
	case o != nil && len(o.seen) >= maxReplayPerOrigin:
		return nil, false, fmt.Errorf("too many routed requests from %s", k.origin)
	case g.ids >= maxReplayIDs:
		return nil, false, errors.New("too many routed requests")
	}
	if o == nil {
		o = &originReplays{seen: map[[16]byte]*answer{}}
		g.origins[k.origin] = o
	}
	a = &answer{at: at, done: make(chan struct{})}
	o.seen[k.id] = a
	g.ids++
	return a, true, nil
}

// finish records the answer to a fresh request and keeps it for repeats
// until keepTill, if it fits the bounds once replies past their time are
// dropped.
func (g *replayGuard) finish(k routeKey, a *answer, reply []byte, keepTill time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer close(a.done)
	o := g.origins[k.origin]
	if o == nil {
		return
	}
	now := time.Now()
	fits := func() bool {
		return o.replyBytes+len(reply) <= maxReplyBytesPerOrigin && g.replyBytes+len(reply) <= maxReplyBytes
	}
	if !fits() {
		g.dropExpiredReplies(o, now)
	}
	if !fits() && now.Sub(g.lastReplyPrune) > time.Second {
		g.lastReplyPrune = now
		for _, other := range g.origins {
			g.dropExpiredReplies(other, now)
		}
	}
	if fits() {
		a.reply, a.keepTill = reply, keepTill
		o.replyBytes += len(reply)
		g.replyBytes += len(reply)
	}
}

// wait returns the answer of an earlier attempt of the same request, once
// it is known, or fails when ctx ends first or the answer is not kept.
func (g *replayGuard) wait(ctx context.Context, a *answer) ([]byte, error) {
	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w while its first attempt runs", errReplayed)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if a.reply == nil || time.Now().After(a.keepTill) {
		return nil, errReplayed
	}
	return a.reply, nil
}

// prune forgets IDs older than routeWindow and replies past their time.
func (g *replayGuard) prune(now time.Time) {
	oldest := now.Add(-routeWindow).UnixNano()
	for origin, o := range g.origins {
		g.dropExpiredReplies(o, now)
		for id, a := range o.seen {
			if a.at < oldest && isClosed(a.done) {
				delete(o.seen, id)
				g.ids--
			}
		}
		if len(o.seen) == 0 {
			delete(g.origins, origin)
		}
	}
}

// dropExpiredReplies drops o's replies past their keepTill.
func (g *replayGuard) dropExpiredReplies(o *originReplays, now time.Time) {
	if o.replyBytes == 0 {
		return
	}
	for _, a := range o.seen {
		if a.reply != nil && now.After(a.keepTill) {
			o.replyBytes -= len(a.reply)
			g.replyBytes -= len(a.reply)
			a.reply = nil
		}
	}
}
