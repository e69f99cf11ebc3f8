package node

import (
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/protocol"
)

// The write side of a connection: a bounded queue any goroutine may add
// to, and a writer goroutine that runs only while there is something to
// write. The writer takes everything queued and hands it to the kernel in
// one write (corkConn), so a fanout costs one syscall per receiver per
// burst, not one per frame; with Config.WriteDelay a busy connection
// flushes at most once per delay, trading that much latency for fewer,
// larger writes.

// send queues an encoded frame and makes sure a writer runs. A full queue
// means the agent is not reading: it is disconnected (1013) rather than
// slowing everyone else down.
func (c *conn) send(b []byte) {
	c.qmu.Lock()
	if c.closing != nil {
		c.qmu.Unlock()
		return
	}
	if len(c.queue) >= c.s.cfg.SendQueue {
		c.qmu.Unlock()
		c.log.Warn("slow consumer disconnected", "queue", c.s.cfg.SendQueue)
		c.closeWith(protocol.CloseSlowConsumer, "Slow consumer")
		return
	}
	c.queue = append(c.queue, b)
	c.wakeLocked()
	c.qmu.Unlock()
}

// wakeLocked starts the writer, or wakes it if it lingers. Caller holds qmu.
func (c *conn) wakeLocked() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
	var lastFlush time.Time
	for {
		c.qmu.Lock()
		idle := len(c.queue) == 0 && !c.pingDue && c.closing == nil
		hot := c.closing == nil && time.Since(lastFlush) < c.s.cfg.WriteDelay
		c.qmu.Unlock()
		if idle {
			if !c.linger(&linger) {
				return
			}
			continue
		}
		if hot {
			// Busy connection: let frames gather (Config.WriteDelay).
			time.Sleep(c.s.cfg.WriteDelay - time.Since(lastFlush))
		}
		c.qmu.Lock()
		batch, ping, closing := c.queue, c.pingDue, c.closing
		c.queue, c.pingDue = nil, false
		c.qmu.Unlock()
		lastFlush = time.Now()
		if err := c.writeBatch(batch, ping); err != nil {
			c.terminate()
			c.finish()
			return
		}
		if closing != nil {
			wait := c.s.cfg.WriteTimeout
			msg := websocket.FormatCloseMessage(closing.code, closing.reason)
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wait))
			// Let the reader see the peer's close echo, but not forever.
			_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.ShutdownGrace))
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
	if len(c.queue) > 0 || c.pingDue || c.closing != nil {
		return true
	}
	c.writing = false
	return false
}

// writeBatch writes frames (and a ping) as one write. Data frames are
// framed here, without gorilla's per-message buffering; gorilla writes the
// ping, so its control frames keep one code path.
func (c *conn) writeBatch(frames [][]byte, ping bool) error {
	now := time.Now()
	c.cork.ensureDeadline(now, c.s.cfg.WriteTimeout)
	c.cork.Cork()
	for _, b := range frames {
		c.cork.AppendText(b)
	}
	var err error
	if ping {
		err = c.ws.WriteControl(websocket.PingMessage, nil, now.Add(c.s.cfg.WriteTimeout))
	}
	if ferr := c.cork.Flush(); err == nil {
		err = ferr
	}
	return err
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
