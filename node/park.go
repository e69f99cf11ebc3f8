package node

import (
	"context"
	"errors"
	"os"
	"time"
)

// An idle agent costs no goroutine. A connection's reader goroutine waits
// for the next frame only while the agent is active; once it has been
// silent for Config.ParkAfter, the sweeper stops the wait (a read deadline
// in the past) and the reader hands the socket to the server's parker (an
// epoll set on Linux) and exits, returning its read buffer. A reader woken
// only by a control frame (the keepalive pong) parks again at once. When the socket turns readable, or
// something needs the reader (a close, a dead peer), a new reader
// goroutine starts. Exactly one goroutine owns the read side at a time;
// ownership moves through rstate:
//
//	running ─wait─▶ waiting ─sweeper─▶ stopping ─▶ running or parking
//	parking ─▶ parked ─readable or unpark─▶ running (new goroutine)
//	parking ─unpark─▶ woken ─▶ running (the same goroutine)
//
// Read deadlines (the sweeper's, and the close handshake's bound) are set
// under rdMu so the reader can put back the one in force after a stop.
const (
	rsRunning  int32 = iota // a reader goroutine owns the read side
	rsWaiting               // it waits for a frame with nothing buffered
	rsStopping              // the sweeper set a past deadline to end the wait
	rsParking               // it is handing the socket to the parker
	rsParked                // no goroutine; the parker starts one
	rsWoken                 // unparked while parking: the reader goes on
)

// deadlinePast is a read deadline that has passed: it ends a wait at once.
var deadlinePast = time.Unix(1, 0)

// parker watches parked sockets and starts a reader when one turns
// readable (parker_linux.go; elsewhere there is none and readers never
// park).
type parker interface {
	run(ctx context.Context) // wake readers until ctx ends
	running() bool           // false once run has returned: nothing parks
	arm(c *conn) error       // watch c's socket until it turns readable, once
	forget(c *conn)          // c is being closed
	close() error
}

// awaitFrame blocks until a frame's first byte is buffered. It reports
// false when the reader parked the socket (and must exit), and an error
// when the socket failed.
func (c *conn) awaitFrame() (bool, error) {
	for !c.in.buffered() {
		c.rstate.Store(rsWaiting)
		_, err := c.in.br.Peek(1)
		if c.rstate.CompareAndSwap(rsWaiting, rsRunning) {
			return true, err
		}
		// The sweeper stopped the wait: put back the deadline in force.
		c.rdMu.Lock()
		_ = c.cork.Conn.SetReadDeadline(c.rdl)
		c.rstate.Store(rsRunning)
		c.rdMu.Unlock()
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return true, err
		}
		if c.park() {
			return false, nil
		}
		// Not parked (woken meanwhile, or closing): wait again.
	}
	return true, nil
}

// canPark reports whether this connection's socket can be parked.
func (c *conn) canPark() bool {
	return c.s.parker != nil && c.s.cfg.ParkAfter > 0 && c.cork.raw != nil && c.s.parker.running()
}

// stopWait ends the reader's wait so it parks; the sweeper calls it for
// an agent silent for Config.ParkAfter.
func (c *conn) stopWait() {
	if !c.canPark() {
		return
	}
	c.rdMu.Lock()
	defer c.rdMu.Unlock()
	if !c.dead.Load() && c.rstate.CompareAndSwap(rsWaiting, rsStopping) {
		_ = c.cork.Conn.SetReadDeadline(deadlinePast)
	}
}

// setReadDeadline bounds the reads to come (the close handshake) and
// makes sure a reader runs to see it.
func (c *conn) setReadDeadline(t time.Time) {
	c.rdMu.Lock()
	c.rdl = t
	if c.rstate.Load() != rsStopping {
		_ = c.cork.Conn.SetReadDeadline(t)
	}
	c.rdMu.Unlock()
	c.unpark()
}

// park hands the socket to the parker. It reports false, with the reader
// still running, when the connection cannot park or was woken meanwhile.
func (c *conn) park() bool {
	if !c.canPark() || c.in.buffered() {
		return false
	}
	c.in.release()
	c.dropQueueSlots()
	// Count parks after data (not re-parks after a pong) for compaction;
	// set before publishing: once parked, another reader owns the fields.
	fresh, prev := c.lastData != c.parkedData, c.parkedData
	c.parkedData = c.lastData
	c.rstate.Store(rsParking)
	// dead is read after rsParking is published: a close that sets it
	// later sees rsParking or rsParked when it unparks.
	if c.dead.Load() {
		// closing: the reader stays for the close handshake
	} else if err := c.s.parker.arm(c); err != nil {
		c.log().Debug("park failed", "err", err)
	} else if c.rstate.CompareAndSwap(rsParking, rsParked) {
		if fresh {
			c.s.parks.Add(1)
		}
		return true
	}
	c.parkedData = prev
	c.rstate.Store(rsRunning)
	c.in.acquire()
	return false
}

// unpark makes sure a reader runs: it starts one for a parked socket.
func (c *conn) unpark() {
	for {
		switch c.rstate.Load() {
		case rsParked:
			if c.rstate.CompareAndSwap(rsParked, rsRunning) {
				go c.read()
				return
			}
		case rsParking:
			if c.rstate.CompareAndSwap(rsParking, rsWoken) {
				return
			}
		default:
			return
		}
	}
}

// dropQueueSlots lets go of the empty send queue's slots (kept for reuse
// while the agent is busy): an idle agent holds none.
func (c *conn) dropQueueSlots() {
	c.qmu.Lock()
	if len(c.queue) == 0 {
		c.queue = nil
	}
	c.qmu.Unlock()
}
