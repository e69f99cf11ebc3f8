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

// lookupSpacing is the least time between two roster fetch rounds: frames
// for unknown agents cost the mesh at most one round per spacing, however
// many agents send them.
const lookupSpacing = 100 * time.Millisecond

// lookups coalesces roster fetches: one round at a time; a caller waits for
// a round that started after it asked, so the answer is never older than
// the question.
type lookups struct {
	mu       sync.Mutex
	started  uint64        // rounds started
	finished uint64        // the last round that ended
	running  bool          // a round is in flight
	done     chan struct{} // closed when the running round ends
	last     time.Time     // when the last round started
}

// hostOf returns the node hosting agent id, fetching the other nodes'
// rosters first if this node's does not name it.
func (b *Bridge) hostOf(ctx context.Context, id string) (string, bool) {
	if _, host, ok := b.srv.RemoteHost(id); ok {
		return host, true
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)() // the bridge stopping ends it too
	if !b.refreshRosters(ctx) {
		return "", false
	}
	_, host, ok := b.srv.RemoteHost(id)
	return host, ok
}

// refreshRosters returns after a roster fetch round that started after the
// call, or false when ctx ended first.
func (b *Bridge) refreshRosters(ctx context.Context) bool {
	l := &b.lookup
	l.mu.Lock()
	want := l.started + 1
	for l.finished < want {
		if l.running {
			done := l.done
			l.mu.Unlock()
			select {
			case <-done:
			case <-ctx.Done():
				return false
			}
			l.mu.Lock()
			continue
		}
		l.running = true
		l.started++
		round := l.started
		l.done = make(chan struct{})
		wait := lookupSpacing - time.Since(l.last)
		l.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		b.fetchRosters(ctx)
		l.mu.Lock()
		l.last = time.Now()
		l.running = false
		l.finished = round
		close(l.done)
	}
	l.mu.Unlock()
	return true
}

// fetchRosters fetches and applies the roster of every connected node and
// every node the roster knows, in parallel, each bounded by ctx. A request
// that fails is tried once more: a stream can be reset when two nodes that
// dialed each other drop one of their connections.
func (b *Bridge) fetchRosters(ctx context.Context) {
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
		})
	}
	wg.Wait()
}
