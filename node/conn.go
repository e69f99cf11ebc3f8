package node

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/protocol"
)

// conn is one agent websocket. One goroutine at a time owns its read
// side: it reads frames (wsread.go), decodes and dispatches them in order;
// an idle agent's socket is parked with no goroutine (park.go). Anything
// may queue an outbound frame (send); the server's flusher or, for a
// connection it cannot serve, a writer goroutine of its own writes every
// queued frame in one write (writer.go, flusher.go). The reader writes
// its control frames (pongs, the close echo) itself (WriteControl).
type conn struct {
	s         *Server
	cork      *corkConn // the socket, after gorilla's handshake
	ip        string
	userAgent string
	connected time.Time

	qmu      sync.Mutex    // guards the queue fields below
	queue    [][]byte      // frames for the writer
	writing  bool          // a writer goroutine is running (or the close is done)
	pingDue  bool          // the sweeper asked for a ping
	closing  *closeReq     // first close request wins
	wake     chan struct{} // tells a lingering writer there is work; made with the first writer
	flushing bool          // on the flusher's list (exclusive with writing)
	rest     []byte        // whole frames the flusher could not start to write; first out
	corkHeld bool          // the cork holds the tail of a partly written batch
	peerGone bool          // the agent's close frame arrived (and was echoed)

	closed chan struct{} // closed once the close frame is written or writing failed
	done   chan struct{} // closed once the connection is torn down
	dead   atomic.Bool   // set once closing: drop further frames
	seen   atomic.Int64  // unix ms of the last inbound frame or pong

	// The read side (park.go).
	rstate  atomic.Int32 // who owns it: rsRunning, rsParked, ...
	rdMu    sync.Mutex   // orders read deadline changes
	rdl     time.Time    // the read deadline in force (the close handshake's)
	parkTag atomic.Int32 // the parker's registration tag; 0 when unregistered
	parkFD  int32        // the descriptor registered with the parker

	// Owned by the goroutine that owns the read side.
	in         frameReader
	lastData   int64 // unix ms of the last data frame
	parkedData int64 // lastData when the socket last parked
	window     rateWindow
	lastMsg    time.Time
	lastChunk  time.Time
	lastNick   time.Time

	// Guarded by Server.mu.
	agent     *agent // nil until identified
	challenge string // pending challenge ID
}

type closeReq struct {
	code   int
	reason string
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	// The per-IP slot is taken before the upgrade, under the lock, so
	// concurrent dials cannot all slip under the cap.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	overIP := s.cfg.MaxConnsPerIP > 0 && s.perIP[ip] >= s.cfg.MaxConnsPerIP
	if !overIP {
		s.perIP[ip]++
	}
	s.mu.Unlock()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("upgrade failed", "ip", ip, "err", err)
		if !overIP {
			s.releaseIP(ip)
		}
		return
	}
	if overIP {
		s.log.Warn("per-IP connection cap reached", "ip", ip, "cap", s.cfg.MaxConnsPerIP)
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(protocol.ClosePolicy, "Too many connections from this IP"), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	cork, ok := ws.NetConn().(*corkConn)
	if !ok { // only the node's own listener (Listen) leads here
		s.log.Error("websocket not accepted by the node's listener", "remote", ws.RemoteAddr().String())
		s.releaseIP(ip)
		ws.Close()
		return
	}
	c := &conn{
		s:         s,
		cork:      cork,
		in:        frameReader{src: cork, limit: s.cfg.MaxFrame},
		ip:        ip,
		userAgent: r.UserAgent(),
		connected: time.Now(),
		closed:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	c.seen.Store(nowMS())
	c.lastData = nowMS()
	c.in.owned = !c.canPark()

	s.mu.Lock()
	if s.closed {
		s.releaseIPLocked(ip)
		s.mu.Unlock()
		cork.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	c.log().Debug("connected", "ip", ip)
	go c.read()
}

// read owns the connection's read side until it parks the socket (a new
// reader starts when the socket turns readable) or the connection ends,
// which it then tears down.
func (c *conn) read() {
	c.in.acquire()
	if c.readLoop() {
		return
	}
	c.in.release()
	c.closeWith(protocol.CloseNormal, "") // if nothing closed it yet
	<-c.closed
	if c.s.parker != nil {
		c.s.parker.forget(c)
	}
	c.cork.Close()
	c.s.disconnect(c)
	close(c.done)
	c.s.wg.Done()
}

// readLoop reads frames until the socket fails or the close handshake
// ends, or until the reader parks the socket (true).
func (c *conn) readLoop() (parked bool) {
	for {
		ready, err := c.awaitFrame()
		if !ready {
			return true
		}
		var op byte
		var p []byte
		if err == nil {
			op, p, err = c.in.next()
		}
		if err != nil {
			c.readFailed(err)
			return false
		}
		if !c.received(op, p) {
			return false
		}
		// An agent that only answers pings parks at once.
		if op >= opPing && !c.in.buffered() && nowMS()-c.lastData >= c.s.cfg.ParkAfter.Milliseconds() && c.park() {
			return true
		}
	}
}

// readFailed closes for a framing violation; a failed socket needs
// nothing more.
func (c *conn) readFailed(err error) {
	var fe *frameError
	if errors.As(err, &fe) {
		c.log().Warn("bad websocket frame", "err", fe.reason, "close", fe.code)
		c.closeWith(fe.code, fe.reason)
		return
	}
	c.log().Debug("read ended", "err", err)
}

// received handles one frame (next's results); false ends reading.
func (c *conn) received(op byte, p []byte) bool {
	now := nowMS()
	c.seen.Store(now)
	switch op {
	case opContinuation: // a fragment: the message is not whole yet
		return true
	case opPing:
		_ = c.cork.WriteControl(opPong, p, c.s.cfg.WriteTimeout)
		return true
	case opPong:
		return true
	case opClose:
		code, err := parseClose(p)
		if err != nil {
			c.readFailed(err)
			return false
		}
		// Echo the close (RFC 6455 §5.5.1), then finish.
		_ = c.cork.WriteControl(opClose, websocket.FormatCloseMessage(code, ""), c.s.cfg.WriteTimeout)
		c.log().Debug("peer closed", "code", code)
		c.peerClosed()
		return false
	}
	c.lastData = now
	if c.dead.Load() {
		return true // closing: read only to finish the handshake
	}
	if op == opText && !utf8.Valid(p) {
		c.closeWith(protocol.CloseInvalidPayload, "Invalid UTF-8")
		return true
	}
	c.s.handleFrame(c, p)
	return true
}

// log logs for this connection. An idle agent holds no logger, and a
// message below the node's level costs no address formatting.
func (c *conn) log() connLog { return connLog{c} }

// connLog is the node's logger with the connection's address added.
type connLog struct{ c *conn }

func (l connLog) Debug(msg string, args ...any) { l.log(slog.LevelDebug, msg, args) }
func (l connLog) Info(msg string, args ...any)  { l.log(slog.LevelInfo, msg, args) }
func (l connLog) Warn(msg string, args ...any)  { l.log(slog.LevelWarn, msg, args) }
func (l connLog) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

func (l connLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if lg := l.c.s.log; lg.Enabled(ctx, level) {
		lg.Log(ctx, level, msg, append([]any{"conn", l.c.cork.RemoteAddr().String()}, args...)...)
	}
}

// sendFrame encodes and queues one frame.
func (c *conn) sendFrame(v any) {
	b, err := protocol.Encode(v)
	if err != nil {
		c.log().Error("encode frame", "err", err)
		return
	}
	c.send(b)
}

// sendError queues an ERROR frame.
func (c *conn) sendError(e *protocol.Error) { c.sendFrame(e.Frame(nowMS())) }

// closeWith starts the close handshake with code; later calls do nothing.
// Frames queued before it are written first; later ones are dropped.
func (c *conn) closeWith(code int, reason string) {
	c.dead.Store(true)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closing != nil {
		return
	}
	c.closing = &closeReq{code: code, reason: reason}
	c.kickLocked()
	c.s.metrics.closeStarted(code)
}

// peerClosed records the agent's close frame, which the reader has
// already answered: RFC 6455 allows nothing after it, so what is still queued is
// dropped and the writer only finishes.
func (c *conn) peerClosed() {
	c.dead.Store(true)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.peerGone = true
	c.queue, c.rest, c.pingDue = nil, nil, false
	if c.closing == nil {
		c.closing = &closeReq{code: protocol.CloseNormal}
	}
	c.kickLocked()
}

// terminate drops the TCP connection without a close frame (the peer sees
// 1006), as the original does for dead peers.
func (c *conn) terminate() {
	c.dead.Store(true)
	_ = c.cork.Close()
	c.unpark() // a parked socket wakes nobody once closed
}

// ping asks the writer to send a websocket ping.
func (c *conn) ping() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closing == nil {
		c.pingDue = true
		c.kickLocked()
	}
}

// waitClosed blocks until the connection is fully torn down or ctx ends.
func (c *conn) waitClosed(ctx context.Context) bool {
	select {
	case <-c.done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) releaseIP(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseIPLocked(ip)
}

// releaseIPLocked gives back one per-IP slot. Caller holds s.mu.
func (s *Server) releaseIPLocked(ip string) {
	if n := s.perIP[ip]; n <= 1 {
		delete(s.perIP, ip)
	} else {
		s.perIP[ip] = n - 1
	}
}
