package node

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// flusher writes for every connection whose socket takes the write at
// once, on one goroutine: senders mark a connection dirty, and the flusher
// frames everything queued for it and hands it to the kernel with one
// non-blocking write. A fanout to N agents thus costs N writes in a tight
// loop on one stack, not N goroutine wake-ups, and frames that arrive while
// the flusher is busy share the next write; keepalive pings go the same
// way. A connection whose socket does not take everything (a slow
// reader), or that needs its close written, or is TLS, is handed to its
// own writer goroutine (writer.go), which may block. With
// Config.WriteDelay the flusher waits that long between rounds, so each
// busy connection is written at most once per delay.
type flusher struct {
	delay time.Duration
	wake  chan struct{}

	mu      sync.Mutex
	dirty   []*conn
	stopped bool
}

func newFlusher(delay time.Duration) *flusher {
	return &flusher{delay: delay, wake: make(chan struct{}, 1)}
}

// add marks c dirty; false once the flusher has stopped. Callers hold
// c.qmu (lock order: conn.qmu, then flusher.mu).
func (f *flusher) add(c *conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	f.dirty = append(f.dirty, c)
	if len(f.dirty) == 1 {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// run flushes dirty connections until ctx ends, then hands the rest to
// their writers.
func (f *flusher) run(ctx context.Context) {
	var spare []*conn
	buf := make([]byte, 0, 64<<10)
	for {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			f.stopped = true
			left := f.dirty
			f.dirty = nil
			f.mu.Unlock()
			for _, c := range left {
				c.handOver()
			}
			return
		case <-f.wake:
		}
		f.mu.Lock()
		round := f.dirty
		f.dirty = spare[:0]
		f.mu.Unlock()
		for _, c := range round {
			buf = c.flushNow(buf[:0])
		}
		clear(round)
		spare = round
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 64<<10) // a burst's buffer is not kept
		}
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
	}
}

// flushNow writes what is queued for c (marked flushing) with one
// non-blocking write; buf is scratch space, returned for reuse.
func (c *conn) flushNow(buf []byte) []byte {
	c.qmu.Lock()
	if c.closing != nil {
		c.flushing = false
		c.startWriterLocked()
		c.qmu.Unlock()
		return buf
	}
	frames, ping := c.queue, c.pingDue
	c.queue, c.pingDue = nil, false
	c.qmu.Unlock()

	for _, b := range frames {
		buf = appendText(buf, b)
	}
	if ping {
		buf = append(buf, pingFrame...)
	}
	start := time.Now()
	done, err := c.cork.TryWrite(buf, c.s.cfg.WriteTimeout)
	c.s.metrics.observeWrite("flush", start)

	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.flushing = false
	if c.queue == nil && cap(frames) <= maxReusedQueue {
		clear(frames) // the next frames reuse the slots, not the bytes
		c.queue = frames[:0]
	}
	switch {
	case errors.Is(err, errCorkBusy):
		// Someone holds the socket (the reader writing a pong into a
		// full buffer): nothing was written, so the whole frames go to a writer
		// rather than stalling every other connection here.
		c.rest = append([]byte(nil), buf...)
		c.startWriterLocked()
	case errors.Is(err, errCloseSent):
		// The reader has echoed the agent's close: the frames are dropped.
		// If peerClosed ran meanwhile (it left the close to us), a writer
		// finishes the connection; otherwise peerClosed will start one.
		if c.closing != nil {
			c.startWriterLocked()
		}
	case err != nil:
		c.terminate() // the reader sees the socket fail and asks to close
		if c.closing != nil {
			c.startWriterLocked() // a close asked meanwhile: the writer ends the connection
		}
	case !done:
		// The socket took part of it; the rest stays corked (so nothing
		// can land inside the half-written frame) for a writer that waits.
		c.corkHeld = true
		c.startWriterLocked()
	case len(c.queue) > 0 || c.closing != nil || c.pingDue:
		c.kickLocked()
	}
	return buf
}

// handOver gives a dirty connection to its own writer (the flusher stops).
func (c *conn) handOver() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.flushing = false
	if len(c.queue) > 0 || c.closing != nil || c.pingDue {
		c.startWriterLocked()
	}
}

// errCorkBusy: TryWrite found the socket in use and wrote nothing.
var errCorkBusy = errors.New("socket busy")

// TryWrite writes b with one non-blocking write. It reports whether all of
// b went out; if not, the connection stays corked holding the rest, for a
// writer to finish (Cork keeps it, Flush writes it). The write deadline is
// refreshed to timeout if stale: a lapsed one (set for an earlier write)
// would fail the write. Only for plain TCP (CanTry).
func (c *corkConn) TryWrite(b []byte, timeout time.Duration) (done bool, err error) {
	if len(b) == 0 {
		return true, nil
	}
	if !c.mu.TryLock() {
		return false, errCorkBusy
	}
	defer c.mu.Unlock()
	if c.closeSent {
		return false, errCloseSent
	}
	c.ensureDeadlineLocked(time.Now(), timeout)
	c.try.b, c.try.n, c.try.err = b, 0, nil
	rerr := c.raw.Write(c.try.fn)
	n, werr := max(c.try.n, 0), c.try.err
	c.try.b = nil
	if errors.Is(werr, syscall.EAGAIN) || errors.Is(werr, syscall.EINTR) {
		werr = nil
	}
	if werr == nil {
		werr = rerr
	}
	if werr != nil {
		return false, werr
	}
	if n == len(b) {
		return true, nil
	}
	c.corked = true
	c.buf = corkBufs.Get().(*[]byte)
	*c.buf = append((*c.buf)[:0], b[n:]...)
	return false, nil
}

// tryWrite is TryWrite's one attempt, kept per connection so that no
// closure is allocated per write. Guarded by corkConn.mu.
type tryWrite struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool // bound to attempt once, when the conn is accepted
}

func (t *tryWrite) attempt(fd uintptr) bool {
	t.n, t.err = syscall.Write(int(fd), t.b)
	return true // one attempt: never wait for the socket
}

// maxReusedQueue bounds the queue slots a connection keeps between writes:
// a busy one appends without allocating, a burst's large queue is dropped.
const maxReusedQueue = 64

// pingFrame is an empty websocket ping (RFC 6455 §5.5.2); the reader
// takes the agent's pong.
var pingFrame = []byte{0x89, 0x00}

// CanTry reports whether TryWrite works on this socket (plain TCP).
func (c *corkConn) CanTry() bool { return c.raw != nil }
