package node

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// corkConn is the node's side of one TCP (or TLS) connection. Between
// Cork and Flush, the connection's writer appends websocket frames to a
// pooled buffer (AppendText, AppendFramed) and Flush hands them to the
// kernel in one write. The reader's control frames (WriteControl) join the
// batch while corked and go straight out otherwise, as do plain HTTP
// responses.
type corkConn struct {
	net.Conn
	raw       syscall.RawConn // the TCP socket, for TryWrite; nil under TLS
	try       tryWrite
	mu        sync.Mutex
	corked    bool
	buf       *[]byte   // from corkBufs while corked
	deadline  time.Time // the last write deadline set
	closeSent bool      // the close frame went out
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

// AppendText appends a text frame carrying p to the corked buffer
// (nothing once the close is out).
func (c *corkConn) AppendText(p []byte) {
	c.mu.Lock()
	if !c.closeSent {
		*c.buf = appendText(*c.buf, p)
	}
	c.mu.Unlock()
}

// AppendFramed appends bytes that are already websocket frames (nothing
// once the close is out).
func (c *corkConn) AppendFramed(b []byte) {
	c.mu.Lock()
	if !c.closeSent {
		*c.buf = append(*c.buf, b...)
	}
	c.mu.Unlock()
}

// appendText appends to b one server-to-client websocket text frame
// (final, unmasked, RFC 6455 §5.2) carrying p.
func appendText(b, p []byte) []byte { return appendFrame(b, opText, p) }

// appendFrame appends one final, unmasked server frame with opcode op.
func appendFrame(b []byte, op byte, p []byte) []byte {
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|op, byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|op, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|op, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, p...)
}

// errCloseSent: the close frame is out, RFC 6455 allows nothing after it.
var errCloseSent = errors.New("websocket close already sent")

// WriteControl writes a control frame (a pong, the close) at once: into
// the batch if the connection is corked (after any half-written frames),
// else to the socket. After the close frame nothing more is written.
func (c *corkConn) WriteControl(op byte, p []byte, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return errCloseSent
	}
	c.closeSent = op == opClose
	if c.corked {
		*c.buf = appendFrame(*c.buf, op, p)
		return nil
	}
	c.ensureDeadlineLocked(time.Now(), timeout)
	_, err := c.Conn.Write(appendFrame(make([]byte, 0, 2+len(p)), op, p))
	return err
}

// SetWriteDeadline records the deadline it sets (under mu, so the record
// always matches the deadline in force).
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

// ensureDeadline sets a write deadline of now+d unless the one set ends
// after now+d/2: a busy connection does not reset it for every batch.
func (c *corkConn) ensureDeadline(now time.Time, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensureDeadlineLocked(now, d)
}

func (c *corkConn) ensureDeadlineLocked(now time.Time, d time.Duration) {
	if !c.deadline.After(now.Add(d / 2)) {
		c.deadline = now.Add(d)
		_ = c.Conn.SetWriteDeadline(c.deadline)
	}
}

// Cork starts gathering writes; if the connection is still corked with
// bytes TryWrite could not finish, those stay first.
func (c *corkConn) Cork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		c.corked = true
		c.buf = corkBufs.Get().(*[]byte)
	}
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
	cc := &corkConn{Conn: c}
	if tcp, ok := c.(*net.TCPConn); ok {
		cc.raw, _ = tcp.SyscallConn()
		cc.try.fn = cc.try.attempt
	}
	return cc, nil
}
