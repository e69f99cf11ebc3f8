package node

import (
	"net"
	"sync"
)

// corkConn lets a connection's writer gather every frame it has queued into
// one buffer and hand it to the kernel in one write: between Cork and Flush,
// writes (gorilla writes each websocket frame as one Write, under its own
// write lock) are appended to a pooled buffer. Uncorked, writes pass
// straight through, so gorilla's control frames from other goroutines and
// plain HTTP responses are unaffected.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte // from corkBufs while corked
}

// corkBufs recycles batch buffers: an idle connection holds none.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledCork keeps a burst's oversized buffer out of the pool.
const maxPooledCork = 1 << 20

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Cork starts gathering writes.
func (c *corkConn) Cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = corkBufs.Get().(*[]byte)
	c.mu.Unlock()
}

// Flush writes what was gathered in one write and stops gathering.
func (c *corkConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return nil
	}
	c.corked = false
	buf := c.buf
	c.buf = nil
	var err error
	if len(*buf) > 0 {
		_, err = c.Conn.Write(*buf)
	}
	if cap(*buf) <= maxPooledCork {
		*buf = (*buf)[:0]
		corkBufs.Put(buf)
	}
	return err
}

// corkListener wraps every accepted connection in a corkConn.
type corkListener struct{ net.Listener }

func (l corkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &corkConn{Conn: c}, nil
}
