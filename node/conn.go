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

// conn is one agent websocket. It has two goroutines: the reader, which
// decodes and dispatches every inbound frame in order, and the writer, which
// drains the bounded send queue. Anything may queue a frame (send); only the
// writer writes, except Close/WriteControl which gorilla allows anywhere.
type conn struct {
	s         *Server
	ws        *websocket.Conn
	ip        string
	userAgent string
	connected time.Time
	log       *slog.Logger

	out    chan []byte   // frames for the writer
	pingC  chan struct{} // sweeper asks the writer to ping
	closeC chan closeReq // first close request wins
	done   chan struct{} // closed once both goroutines ended
	once   sync.Once     // guards closeC send
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
	ws.SetReadLimit(s.cfg.MaxFrame)
	c := &conn{
		s:         s,
		ws:        ws,
		ip:        ip,
		userAgent: r.UserAgent(),
		connected: time.Now(),
		out:       make(chan []byte, s.cfg.SendQueue),
		pingC:     make(chan struct{}, 1),
		closeC:    make(chan closeReq, 1),
		done:      make(chan struct{}),
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
	s.wg.Add(2)
	s.mu.Unlock()
	c.log.Debug("connected", "ip", ip)

	writerDone := make(chan struct{})
	go func() {
		defer s.wg.Done()
		defer close(writerDone)
		c.writeLoop()
	}()
	go func() {
		defer s.wg.Done()
		c.readLoop()
		c.dead.Store(true)
		c.closeWith(protocol.CloseNormal, "") // stop the writer if it still runs
		<-writerDone
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

// writeLoop writes queued frames, pings on request, and performs the close
// handshake when asked: frames queued before the close are written first.
func (c *conn) writeLoop() {
	writeWait := c.s.cfg.WriteTimeout
	for {
		select {
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.terminate()
				return
			}
		case <-c.pingC:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.terminate()
				return
			}
		case req := <-c.closeC:
			c.flush(writeWait)
			msg := websocket.FormatCloseMessage(req.code, req.reason)
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
			// Let the reader see the peer's close echo, but not forever.
			_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.ShutdownGrace))
			return
		}
	}
}

// flush writes whatever is queued without waiting for more.
func (c *conn) flush(wait time.Duration) {
	for {
		select {
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(wait))
			if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		default:
			return
		}
	}
}

// send queues an encoded frame. A full queue means the agent is not reading:
// it is disconnected (1013) rather than slowing everyone else down.
func (c *conn) send(b []byte) {
	if c.dead.Load() {
		return
	}
	select {
	case c.out <- b:
	default:
		c.log.Warn("slow consumer disconnected", "queue", cap(c.out))
		c.closeWith(protocol.CloseSlowConsumer, "Slow consumer")
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
func (c *conn) closeWith(code int, reason string) {
	c.once.Do(func() {
		c.dead.Store(true)
		c.closeC <- closeReq{code: code, reason: reason}
	})
}

// terminate drops the TCP connection without a close frame (the peer sees
// 1006), as the original does for dead peers.
func (c *conn) terminate() {
	c.dead.Store(true)
	_ = c.ws.UnderlyingConn().Close()
}

// ping asks the writer to send a websocket ping.
func (c *conn) ping() {
	select {
	case c.pingC <- struct{}{}:
	default:
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
