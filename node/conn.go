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

// conn is one agent websocket. Its reader goroutine decodes and dispatches
// every inbound frame in order. Anything may queue an outbound frame (send);
// a writer goroutine runs only while frames are queued, writes every queued
// frame and hands them to the kernel in one write, so an idle connection
// costs one goroutine and a fanout costs one syscall per burst, not per
// frame. Only the writer writes data frames; gorilla may write control
// frames (pongs, its own close on a protocol error) from the reader.
type conn struct {
	s         *Server
	ws        *websocket.Conn
	cork      *corkConn // the socket under ws, for batched writes
	ip        string
	userAgent string
	connected time.Time
	log       *slog.Logger

	qmu      sync.Mutex    // guards the queue fields below
	queue    [][]byte      // frames for the writer
	writing  bool          // a writer goroutine is running (or the close is done)
	pingDue  bool          // the sweeper asked for a ping
	closing  *closeReq     // first close request wins
	wake     chan struct{} // tells a lingering writer there is work
	flushing bool          // on the flusher's list (exclusive with writing)
	rest     []byte        // whole frames the flusher could not start to write; first out
	corkHeld bool          // the cork holds the tail of a partly written batch
	peerGone bool          // the agent's close frame arrived (and was echoed)

	closed chan struct{} // closed once the close frame is written or writing failed
	done   chan struct{} // closed once the connection is torn down
	dead   atomic.Bool   // set once closing: drop further frames
	seen   atomic.Int64  // unix ms of the last inbound frame or pong

	// Owned by the reader goroutine.
	window    rateWindow
	lastMsg   time.Time
	lastChunk time.Time
	lastNick  time.Time

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
	ws.SetReadLimit(s.cfg.MaxFrame)
	c := &conn{
		s:         s,
		ws:        ws,
		cork:      cork,
		ip:        ip,
		userAgent: r.UserAgent(),
		connected: time.Now(),
		closed:    make(chan struct{}),
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
	}
	c.log = s.log.With("conn", ws.RemoteAddr().String())
	c.seen.Store(nowMS())
	ws.SetPongHandler(func(string) error { c.seen.Store(nowMS()); return nil })

	s.mu.Lock()
	if s.closed {
		s.releaseIPLocked(ip)
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	c.log.Debug("connected", "ip", ip)

	go func() {
		defer s.wg.Done()
		c.readLoop()
		c.closeWith(protocol.CloseNormal, "") // if nothing closed it yet
		<-c.closed
		ws.Close()
		s.disconnect(c)
		close(c.done)
	}()
}

// readLoop reads frames until the socket fails or the close handshake ends.
func (c *conn) readLoop() {
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				c.log.Warn("frame over size limit", "limit", c.s.cfg.MaxFrame)
				c.closeWith(protocol.CloseTooBig, "Message too large")
			case errors.As(err, &ce):
				c.log.Debug("peer closed", "code", ce.Code)
				c.peerClosed()
			default:
				c.log.Debug("read ended", "err", err)
			}
			return
		}
		c.seen.Store(nowMS())
		if c.dead.Load() {
			continue // closing: read only to finish the handshake
		}
		if typ == websocket.TextMessage && !utf8.Valid(data) {
			c.closeWith(protocol.CloseInvalidPayload, "Invalid UTF-8")
			continue
		}
		c.s.handleFrame(c, data)
	}
}

// sendFrame encodes and queues one frame.
func (c *conn) sendFrame(v any) {
	b, err := protocol.Encode(v)
	if err != nil {
		c.log.Error("encode frame", "err", err)
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
}

// peerClosed records the agent's close frame, which gorilla has already
// answered: RFC 6455 allows nothing after it, so what is still queued is
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
	_ = c.ws.UnderlyingConn().Close()
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
