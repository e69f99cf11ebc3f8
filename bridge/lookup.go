package bridge

import (
	"context"
	"sync"
	"time"
)

// An agent that has just connected on another node may not be in this
// node's roster yet: its announcement is still on its way. A frame for an
// agent the roster does not name (a DM, a file chunk, a proposal) therefore
// fetches the rosters of the other nodes before it is refused, so a reply
// to an agent that connected a moment ago is delivered, not refused with
// AGENT_NOT_FOUND.
//
// Fetches are shared: one round at a time, run by the bridge (its lifetime,
// bounded by RequestTimeout), for every agent asked about since the last
// round started; a caller that gives up stops waiting, not the round. A
// round stops fetching once every agent it was asked about is found, and
// an agent no round found is answered from memory for lookupForget, so a
// burst of frames for a made-up ID costs one round.

const (
	// lookupSpacing is the least time between two roster fetch rounds:
	// frames for unknown agents cost the mesh at most one round per
	// spacing, however many agents send them.
	lookupSpacing = 100 * time.Millisecond
	// lookupForget is how long an agent a round did not find is refused
	// without another round.
	lookupForget = time.Second
	// lookupMissingMax bounds the remembered misses (made-up IDs are free).
	lookupMissingMax = 10_000
)

// lookups coalesces roster fetches. A caller joins the next round, which
// starts after the running one ends, so the answer is never older than the
// question.
type lookups struct {
	mu      sync.Mutex
	next    *lookupRound         // the round callers join; nil: none asked for
	running bool                 // the round runner is alive
	last    time.Time            // when the last round started
	missing map[string]time.Time // agent ID -> until when it is refused from memory
}

// lookupRound is one fetch round: the agents asked about, closed done when
// it has ended.
type lookupRound struct {
	want map[string]bool
	done chan struct{}
}

// hostOf returns the node hosting agent id, fetching the other nodes'
// rosters first if this node's does not name it.
func (b *Bridge) hostOf(ctx context.Context, id string) (string, bool) {
	if _, host, ok := b.srv.RemoteHost(id); ok {
		return host, true
	}
	r := b.joinRound(id)
	if r == nil {
		return "", false
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return "", false
	case <-b.ctx.Done():
		return "", false
	}
	_, host, ok := b.srv.RemoteHost(id)
	return host, ok
}

// joinRound adds id to the next round, starting the runner if it is idle;
// nil if id was missed a moment ago or the bridge is stopping.
func (b *Bridge) joinRound(id string) *lookupRound {
	l := &b.lookup
	l.mu.Lock()
	defer l.mu.Unlock()
	if until, ok := l.missing[id]; ok && time.Now().Before(until) {
		return nil
	}
	if b.ctx.Err() != nil {
		return nil
	}
	if l.next == nil {
		l.next = &lookupRound{want: map[string]bool{}, done: make(chan struct{})}
	}
	l.next.want[id] = true
	r := l.next
	if !l.running {
		l.running = true
		b.spawn(b.runLookups)
	}
	return r
}

// runLookups runs rounds while callers ask for them.
func (b *Bridge) runLookups() {
	l := &b.lookup
	for {
		l.mu.Lock()
		r := l.next
		l.next = nil
		if r == nil || b.ctx.Err() != nil {
			l.running = false
			l.mu.Unlock()
			if r != nil {
				close(r.done)
			}
			return
		}
		wait := lookupSpacing - time.Since(l.last)
		l.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.ctx.Done():
			}
			t.Stop()
		}
		l.mu.Lock()
		l.last = time.Now()
		l.mu.Unlock()
		b.count(func(s *Stats) { s.Lookups++ })
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
		b.fetchRosters(ctx, r.want)
		cancel()
		b.forgetMissing(r.want)
		close(r.done)
	}
}

// forgetMissing remembers the agents of want that no roster named.
func (b *Bridge) forgetMissing(want map[string]bool) {
	var missed []string
	for id := range want {
		if _, _, ok := b.srv.RemoteHost(id); !ok {
			missed = append(missed, id)
		}
	}
	l := &b.lookup
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.missing == nil || len(l.missing)+len(missed) > lookupMissingMax {
		l.missing = map[string]time.Time{}
	}
	for _, id := range missed {
		l.missing[id] = now.Add(lookupForget)
	}
}

// fetchRosters fetches and applies the roster of every connected node and
// every node the roster knows, in parallel, each bounded by ctx, until
// every agent in want is found. A request that fails is tried once more: a
// stream can be reset when two nodes that dialed each other drop one of
// their connections.
func (b *Bridge) fetchRosters(ctx context.Context, want map[string]bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	peers := map[string]bool{}
	for _, p := range b.host.Peers() {
		peers[p] = true
	}
	b.mu.Lock()
	for p := range b.nodes {
		peers[p] = true
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for p := range peers {
		wg.Go(func() {
			if b.fetchRoster(ctx, p) && ctx.Err() == nil {
				b.fetchRoster(ctx, p)
			}
			if b.allKnown(want) {
				cancel() // the other answers are not needed
			}
		})
	}
	wg.Wait()
}

func (b *Bridge) allKnown(ids map[string]bool) bool {
	for id := range ids {
		if _, _, ok := b.srv.RemoteHost(id); !ok {
			return false
		}
	}
	return true
}
