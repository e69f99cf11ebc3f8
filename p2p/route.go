package p2p

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Routes to nodes this host has no connection to. Every node publishes on
// the roster topic every few seconds, and gossip carries each message from
// its origin to us along a chain of connections; a neighbour that delivered
// an origin's newest message is the first hop of a path back to that
// origin, and that neighbour knows the next hop the same way. So the table
// needs no protocol of its own: the tracer feeds it from every delivered
// message and every duplicate, and a routed request follows the reverse
// gossip path hop by hop (relay.go). Paths change as gossip does; the hop
// limit and the relays' in-flight set (relay.go) cut a transient loop.
//
// Only a message newer than any seen from its origin (by the origin's
// pubsub sequence number, which the origin signs and which only grows) can
// change the table: a neighbour replaying an old message is not taken for
// a path to its origin.

const (
	// maxRoutes bounds the origins the table knows; past it the least
	// recently used origin is forgotten.
	maxRoutes = 1 << 16
	// maxCandidates is how many neighbours are kept per origin, best
	// first: the one that delivered its newest message first, then those
	// that delivered copies of it, so a request can go around a hop that
	// cannot pass it on.
	maxCandidates = 3
)

// directRetry is how long a peer that could not be reached directly is
// reached through the mesh only, before it is dialled again.
const directRetry = 30 * time.Second

// originRoute is what the table knows of one origin.
type originRoute struct {
	seq  uint64    // the newest sequence number learned from
	hops []peer.ID // candidate next hops, best first
}

// routes maps an origin node to the neighbours that delivered its newest
// message, and remembers peers a direct stream recently failed to reach.
// The router's goroutines write next; requests read it and keep failed.
type routes struct {
	mu     sync.Mutex
	next   *simplelru.LRU[peer.ID, *originRoute]
	failed *simplelru.LRU[peer.ID, time.Time] // when a direct attempt last failed
}

func newRoutes() *routes {
	next, err := simplelru.NewLRU[peer.ID, *originRoute](maxRoutes, nil)
	if err != nil {
		panic(err) // only for a size below 1
	}
	failed, err := simplelru.NewLRU[peer.ID, time.Time](maxRoutes, nil)
	if err != nil {
		panic(err)
	}
	return &routes{next: next, failed: failed}
}

// directFailed records that p could not be reached directly at now.
func (r *routes) directFailed(p peer.ID, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed.Add(p, now)
}

// recentlyFailed reports whether p failed a direct attempt within
// directRetry.
func (r *routes) recentlyFailed(p peer.ID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, failed := r.failed.Peek(p)
	return failed && now.Sub(at) <= directRetry
}

// learn records that via delivered origin's message with sequence number
// seqno (8 bytes, big-endian, as gossipsub writes it), first (delivered) or
// as a duplicate of a message already delivered. A first delivery of a
// message newer than any before puts via at the head of the candidates; a
// copy of the newest message adds via behind them; anything older changes
// nothing.
func (r *routes) learn(origin, via peer.ID, seqno []byte, first bool) {
	if origin == "" || via == "" || origin == via || len(seqno) != 8 {
		return
	}
	seq := binary.BigEndian.Uint64(seqno)
	r.mu.Lock()
	defer r.mu.Unlock()
	o, known := r.next.Get(origin)
	switch {
	case !known:
		if !first {
			return // a copy of a message we never took
		}
		r.next.Add(origin, &originRoute{seq: seq, hops: []peer.ID{via}})
	case first && seq > o.seq:
		o.seq = seq
		hops := slices.DeleteFunc(o.hops, func(p peer.ID) bool { return p == via })
		o.hops = slices.Insert(hops, 0, via)[:min(len(hops)+1, maxCandidates)]
	case seq == o.seq && len(o.hops) < maxCandidates && !slices.Contains(o.hops, via):
		o.hops = append(o.hops, via)
	}
}

// via returns the candidate next hops toward target, best first.
func (r *routes) via(target peer.ID) []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.next.Get(target)
	if !ok {
		return nil
	}
	return slices.Clone(o.hops)
}

// nextHops lists the peers a request for target may go to next, best
// first: target itself when connected, else the candidates on the reverse
// gossip path that are connected and are not from (the hop the request
// came from, which would send it straight back).
func (h *Host) nextHops(target, from peer.ID) []peer.ID {
	nw := h.host.Network()
	if nw.Connectedness(target) == network.Connected {
		return []peer.ID{target}
	}
	return slices.DeleteFunc(h.routes.via(target), func(p peer.ID) bool {
		return p == from || p == h.host.ID() || nw.Connectedness(p) != network.Connected
	})
}

// nextHop is the best of nextHops.
func (h *Host) nextHop(target, from peer.ID) (peer.ID, bool) {
	hops := h.nextHops(target, from)
	if len(hops) == 0 {
		return "", false
	}
	return hops[0], true
}
