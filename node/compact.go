package node

import (
	"runtime"
	"runtime/debug"
	"time"
)

// compactEvery is the growth in connections, or in parked readers, after
// which, once it pauses, the node compacts its memory.
const compactEvery = 1000

// compactor returns memory to the OS after a crowd of agents has arrived
// or gone idle. Handling an arrival leaves garbage, and a parked reader
// leaves its stack behind; both go back to the OS only when a collection
// runs, and an idle crowd allocates nothing that would start one. So after
// at least compactEvery arrivals and parks, at the first sweep that sees
// neither, the node forces a collection and scavenge. Owned by the sweep
// goroutine.
type compactor struct {
	base int64 // activity at the last compaction
	prev int64 // activity at the previous sweep
}

func (s *Server) maybeCompact(k *compactor) {
	s.mu.RLock()
	n := len(s.conns)
	s.mu.RUnlock()
	activity := int64(n) + s.parks.Load()
	quiet := activity == k.prev
	k.prev = activity
	if activity < k.base {
		k.base = activity // departures
	}
	if !quiet || activity-k.base < compactEvery {
		return
	}
	k.base = activity
	start := time.Now()
	// Two collections: the first leaves pooled buffers (the read buffers
	// parked readers gave back) in sync.Pool's victim cache, the second
	// frees them.
	runtime.GC()
	debug.FreeOSMemory()
	s.log.Debug("memory compacted", "conns", n, "parks", s.parks.Load(), "took", time.Since(start))
}
