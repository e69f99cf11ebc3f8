package p2p

import (
	"sync"

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

// routes maps an origin node to the neighbour that last delivered one of
// its messages first. The router's goroutines write it; requests read it.
type routes struct {
	mu   sync.Mutex
	next map[peer.ID]peer.ID
}

func newRoutes() *routes { return &routes{next: map[peer.ID]peer.ID{}} }

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
