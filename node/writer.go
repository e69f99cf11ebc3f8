package node

import (
	"time"

	"github.com/gorilla/websocket" // FormatCloseMessage

	"github.com/agentchat/mesh/protocol"
)

// The write side of a connection: a bounded queue any goroutine may add
// to. Frames for a plain TCP socket are written by the server's flusher
// (flusher.go), many connections per round on one goroutine. A connection
// the flusher cannot finish (a slow reader, TLS, the close to write) gets
// a writer goroutine of its own that may block; it runs only
// while there is something to write, then lingers a moment and exits.

// send queues an encoded frame and gets it written. A full queue means
// the agent is not reading: it is disconnected (1013) rather than slowing
// everyone else down.
func (c *conn) send(b []byte) {
	c.qmu.Lock()
	if c.closing != nil {
		c.qmu.Unlock()
		c.s.metrics.drop("closed")
		return
	}
	if len(c.queue) >= c.s.cfg.SendQueue {
		c.qmu.Unlock()
		c.s.metrics.drop("slow_consumer")
		c.log().Warn("slow consumer disconnected", "queue", c.s.cfg.SendQueue)
		c.closeWith(protocol.CloseSlowConsumer, "Slow consumer")
		return
	}
	c.queue = append(c.queue, b)
	c.kickLocked()
	c.qmu.Unlock()
	c.s.metrics.frameOut(b)
}

// kickLocked makes sure what is pending (frames, a ping, the close) gets
// written: by the writer if one runs, else by the flusher if the socket
// allows, else by a new writer. Caller holds qmu.
func (c *conn) kickLocked() {
	switch {
	case c.writing:
		select {
		case c.wake <- struct{}{}:
		default:
		}
	case c.flushing:
		// The flusher takes it, or hands it to a writer.
	case c.closing == nil && len(c.rest) == 0 && !c.corkHeld && c.s.flush != nil && c.cork.CanTry():
		c.flushing = true
		if !c.s.flush.add(c) {
			c.flushing = false
			c.startWriterLocked()
		}
	case len(c.queue) > 0 || len(c.rest) > 0 || c.corkHeld || c.pingDue || c.closing != nil:
		c.startWriterLocked()
	}
}

// startWriterLocked gives the socket to a new writer goroutine. Caller
// holds qmu; neither a writer nor the flusher holds the socket.
func (c *conn) startWriterLocked() {
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
	}
	c.writing = true
	go c.writeLoop()
}

// writerLinger is how long a writer waits for more frames before it exits:
// a busy connection keeps its writer (no goroutine start per frame), an
// idle one has none.
const writerLinger = time.Second

// writeLoop writes what is queued, batch by batch, and returns once the
// queue stayed empty for writerLinger. The close, once asked for, is
// written after the frames queued before it; then the writer stays
// "running" so none starts again.
func (c *conn) writeLoop() {
	var linger *time.Timer
	for {
		c.qmu.Lock()
		rest, batch, ping, closing := c.rest, c.queue, c.pingDue, c.closing
		held, gone := c.corkHeld, c.peerGone
		c.rest, c.queue, c.pingDue, c.corkHeld = nil, nil, false, false
		idle := !held && len(rest) == 0 && len(batch) == 0 && !ping && closing == nil
		c.qmu.Unlock()
		if gone {
			// The agent closed: nothing more may be written but the tail
			// of a half-written batch, which the close echo follows.
			if held {
				c.cork.ensureDeadline(time.Now(), c.s.cfg.WriteTimeout)
				_ = c.cork.Flush()
			}
			c.finish()
			return
		}
		if idle {
			if !c.linger(&linger) {
				return
			}
			continue
		}
		if err := c.writeBatch(rest, batch, ping); err != nil {
			c.terminate()
			c.finish()
			return
		}
		if closing != nil {
			msg := websocket.FormatCloseMessage(closing.code, closing.reason)
			_ = c.cork.WriteControl(opClose, msg, c.s.cfg.WriteTimeout)
			// Let the reader see the peer's close echo, but not forever.
			c.setReadDeadline(time.Now().Add(c.s.cfg.ShutdownGrace))
			c.finish()
			return
		}
	}
}

// linger waits for more work; false means the writer should exit (and
// has given up its turn: the next send starts a new one).
func (c *conn) linger(t **time.Timer) bool {
	if *t == nil {
		*t = time.NewTimer(writerLinger)
	} else {
		(*t).Reset(writerLinger)
	}
	select {
	case <-c.wake:
		return true
	case <-(*t).C:
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.corkHeld || len(c.rest) > 0 || len(c.queue) > 0 || c.pingDue || c.closing != nil {
		return true
	}
	c.writing = false
	return false
}

// writeBatch writes whatever the cork still holds from the flusher, rest
// (whole frames the flusher could not start), frames and a ping as one
// write. Frames are framed here (cork.go).
func (c *conn) writeBatch(rest []byte, frames [][]byte, ping bool) error {
	now := time.Now()
	c.cork.ensureDeadline(now, c.s.cfg.WriteTimeout)
	c.cork.Cork()
	c.cork.AppendFramed(rest)
	for _, b := range frames {
		c.cork.AppendText(b)
	}
	if ping {
		c.cork.AppendFramed(pingFrame)
	}
	defer c.s.metrics.observeWrite("writer", now)
	return c.cork.Flush()
}

// finish marks the writing side over.
func (c *conn) finish() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closing == nil {
		c.closing = &closeReq{} // writing failed: nothing more to write
	}
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
}
