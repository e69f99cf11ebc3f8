package node

import (
	"runtime/debug"
	"time"
)

// compactEvery is the growth in connections after which, once arrivals
// pause, the node compacts its memory.
const compactEvery = 1000

// compactor returns memory to the OS after a crowd of agents has arrived.
// Handling an arrival grows each reader goroutine's stack and leaves
// garbage; the stacks shrink, and the heap headroom is returned, only when
// a collection runs, and an idle crowd allocates nothing that would start
// one. So after at least compactEvery new connections, at the first sweep
// that sees no new arrivals, the node forces one collection and scavenge.
// Owned by the sweep goroutine.
type compactor struct {
	base int // connections at the last compaction
	prev int // connections at the previous sweep
}

func (s *Server) maybeCompact(k *compactor) {
	s.mu.RLock()
	n := len(s.conns)
	s.mu.RUnlock()
	quiet := n == k.prev
	k.prev = n
	if n < k.base {
		k.base = n
	}
	if !quiet || n-k.base < compactEvery {
		return
	}
	k.base = n
	start := time.Now()
	debug.FreeOSMemory()
	s.log.Debug("memory compacted after arrivals", "conns", n, "took", time.Since(start))
}
