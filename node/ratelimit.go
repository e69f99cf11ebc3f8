package node

import "time"

// rateWindow counts frames in a sliding window: it remembers the arrival
// times of the last max frames, so "more than max within window" is exact.
// Owned by the connection's reader goroutine.
type rateWindow struct {
	times []int64 // ring of unix ms, len == cap == the limit being enforced
	next  int
}

// allow records a frame at now and reports whether at most max frames
// (including this one) arrived within window. The ring grows when max grows
// (the limit rises from pre-auth to post-auth on IDENTIFY).
func (w *rateWindow) allow(now time.Time, max int, window time.Duration) bool {
	ms := now.UnixMilli()
	if len(w.times) != max {
		w.resize(max)
	}
	// The slot we overwrite holds the arrival max frames ago.
	oldest := w.times[w.next]
	w.times[w.next] = ms
	w.next = (w.next + 1) % max
	return oldest == 0 || ms-oldest >= window.Milliseconds()
}

func (w *rateWindow) resize(max int) {
	grown := make([]int64, max)
	// Keep the most recent arrivals, oldest first.
	n := len(w.times)
	for i := 0; i < n && i < max; i++ {
		grown[max-1-i] = w.times[(w.next-1-i+2*n)%n]
	}
	w.times = grown
	w.next = 0
}
