package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Routes to nodes this host has no connection to. Every node publishes on
// the roster topic every few seconds, and gossip carries each message from
// its origin to us along a chain of connections; the neighbour that
// delivered an origin's message to us first is the first hop of a path
// back to that origin, and that neighbour knows the next hop the same way.
// So the table needs no protocol of its own: the tracer feeds it from every
// delivered message, and a routed request follows the reverse gossip path
// hop by hop (relay.go). Paths change as gossip does; the hop limit of a
// routed request bounds a transient loop.

// maxRoutes bounds the table; past it the table is cleared and refills
// from the next round of heartbeats.
const maxRoutes = 1 << 16

// directRetry is how long a peer that could not be reached directly is
// reached through the mesh only, before it is dialled again.
const directRetry = 30 * time.Second

// routes maps an origin node to the neighbour that last delivered one of
// its messages first, and remembers peers a direct stream recently failed
// to reach. The router's goroutines write next; requests read it and keep
// failed.
type routes struct {
	mu     sync.Mutex
	next   map[peer.ID]peer.ID
	failed map[peer.ID]time.Time // when a direct attempt last failed
}

func newRoutes() *routes {
	return &routes{next: map[peer.ID]peer.ID{}, failed: map[peer.ID]time.Time{}}
}

// directFailed records that p could not be reached directly at now.
func (r *routes) directFailed(p peer.ID, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failed) >= maxRoutes {
		for k, at := range r.failed {
			if now.Sub(at) > directRetry {
				delete(r.failed, k)
			}
		}
		if len(r.failed) >= maxRoutes {
			clear(r.failed)
		}
	}
	r.failed[p] = now
}

// recentlyFailed reports whether p failed a direct attempt within
// directRetry.
func (r *routes) recentlyFailed(p peer.ID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, failed := r.failed[p]
	return failed && now.Sub(at) <= directRetry
}

// learn records that via delivered a message from origin.
func (r *routes) learn(origin, via peer.ID) {
	if origin == "" || via == "" {
		return
	}
	r.mu.Lock()
	if len(r.next) >= maxRoutes {
		if _, known := r.next[origin]; !known {
			clear(r.next)
		}
	}
	r.next[origin] = via
	r.mu.Unlock()
}

// via returns the neighbour last seen forwarding target's messages.
func (r *routes) via(target peer.ID) (peer.ID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.next[target]
	return p, ok
}

// nextHop picks the peer a request for target goes to next: target itself
// when connected, else the neighbour on the reverse gossip path, provided
// it is connected and is not from (the hop the request came from, which
// would send it straight back).
func (h *Host) nextHop(target, from peer.ID) (peer.ID, bool) {
	nw := h.host.Network()
	if nw.Connectedness(target) == network.Connected {
		return target, true
	}
	p, ok := h.routes.via(target)
	if !ok || p == from || p == h.host.ID() || nw.Connectedness(p) != network.Connected {
		return "", false
	}
	return p, true
}
