package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/protocol"
)

// writeTimeout bounds one websocket write.
const writeTimeout = 10 * time.Second

// closeGrace is how long Close waits for the node to answer the close
// handshake before dropping the socket.
const closeGrace = time.Second

// pingFrame is the fence written after a request whose reply is open-ended.
var pingFrame = []byte(`{"type":"PING"}`)

// errNotSent marks a request that was never written because its connection
// had already ended; it is safe to retry on the next connection.
var errNotSent = errors.New("request not sent")

// header holds the fields of a server frame the client routes on. Absent
// fields stay zero.
type header struct {
	Type       string          `json:"type"`
	Channel    string          `json:"channel"`
	From       string          `json:"from"`
	To         string          `json:"to"`
	Replay     bool            `json:"replay"`
	ProposalID string          `json:"proposal_id"`
	DisputeID  string          `json:"dispute_id"`
	RequestID  string          `json:"request_id"`
	QueryID    json.RawMessage `json:"query_id"`
	Sig        string          `json:"sig"`
	Agent      string          `json:"agent"`
	Target     string          `json:"target"`
	Status     string          `json:"status"`
	Nonce      string          `json:"nonce"`
	Verified   *bool           `json:"verified"`
	Code       protocol.Code   `json:"code"`
	Message    string          `json:"message"`
}

// frame is one received server frame: its routing header and exact bytes.
type frame struct {
	hdr  header
	data []byte
}

// pending is a request waiting for its reply; see "Matching replies to
// requests" in doc.go. Its fields are written by the session's reader until
// done is closed, and read by the caller only after that.
type pending struct {
	// take claims the frames that make up the reply.
	take func(*frame) bool
	// fenced requests were followed by a PING: its PONG ends the reply.
	fenced bool
	// final, for a request without a fence, tells the frame that ends the
	// reply; nil means the first taken frame does.
	final func(*frame) bool

	frames []*frame
	err    error // *ServerError, or why the connection ended
	done   chan struct{}
}

// watcher waits for one frame outside the request queue: a result that
// comes after its request's reply (VERIFY_SUCCESS) or a reply the node
// sends late.
type watcher struct {
	match func(*frame) bool
	ch    chan *frame // gets the frame, or is closed when the session ends
}

// session is one websocket connection to the node.
type session struct {
	c   *Client
	ws  *websocket.Conn
	log *slog.Logger

	// wmu makes "queue the request, write its frames" atomic, so the queue
	// order is the wire order.
	wmu sync.Mutex

	mu       sync.Mutex // guards the fields below
	queue    []*pending
	watchers []*watcher
	ended    bool
	endErr   error // why the session ended, once ended
	stop     error // set on SESSION_DISPLACED, KICKED, BANNED: do not reconnect

	done chan struct{} // closed when the reader has ended
}

func (c *Client) newSession(ws *websocket.Conn) *session {
	s := &session{c: c, ws: ws, log: c.log.With("conn", ws.LocalAddr().String()), done: make(chan struct{})}
	ws.SetReadLimit(protocol.DefaultMaxFrame + 64<<10) // a full-size frame plus its envelope
	_ = ws.SetReadDeadline(time.Now().Add(c.opts.ReadTimeout))
	ws.SetPingHandler(func(data string) error {
		_ = ws.SetReadDeadline(time.Now().Add(c.opts.ReadTimeout))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	return s
}

// readLoop is the session's reader goroutine: it routes every frame in
// arrival order until the connection ends. Whoever created the session
// waits for done.
func (s *session) readLoop() {
	defer close(s.done)
	var err error
	for {
		var data []byte
		if _, data, err = s.ws.ReadMessage(); err != nil {
			break
		}
		_ = s.ws.SetReadDeadline(time.Now().Add(s.c.opts.ReadTimeout))
		s.route(data)
	}
	s.end(err)
}

// route hands one frame to the oldest pending request, then to a watcher,
// then to the client as an event. It runs on the reader goroutine only.
func (s *session) route(data []byte) {
	f := &frame{data: data}
	if err := json.Unmarshal(data, &f.hdr); err != nil {
		s.log.Warn("frame is not a JSON object", "err", err, "size", len(data))
		s.c.emit(&RawEvent{Data: json.RawMessage(data)})
		return
	}
	s.mu.Lock()
	if len(s.queue) > 0 && s.offer(s.queue[0], f) {
		s.mu.Unlock()
		return
	}
	for i, w := range s.watchers {
		if w.match(f) {
			s.watchers = append(s.watchers[:i:i], s.watchers[i+1:]...)
			s.mu.Unlock()
			w.ch <- f
			return
		}
	}
	switch f.hdr.Type {
	case protocol.TypeSessionDisplaced:
		s.stop = fmt.Errorf("%w: %s", ErrDisplaced, reasonOf(f))
	case protocol.TypeKicked, protocol.TypeBanned:
		s.stop = fmt.Errorf("%w: %s: %s", ErrRemoved, f.hdr.Type, reasonOf(f))
	}
	s.mu.Unlock()
	s.c.unclaimed(s, f)
}

// reasonOf returns a frame's "reason" field.
func reasonOf(f *frame) string {
	var r struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(f.data, &r)
	return r.Reason
}

// offer gives f to the head request p and reports whether p claimed it.
// Caller holds s.mu.
func (s *session) offer(p *pending, f *frame) bool {
	switch {
	case f.hdr.Type == protocol.TypeError:
		if p.err == nil {
			p.err = &ServerError{Code: f.hdr.Code, Message: f.hdr.Message}
			if !p.fenced {
				s.finishHead()
			}
		} else if p.fenced {
			// A second ERROR before the PONG is the fence's own refusal.
			s.finishHead()
		}
		return true
	case p.fenced && f.hdr.Type == protocol.TypePong:
		s.finishHead()
		return true
	case p.take != nil && p.take(f):
		p.frames = append(p.frames, f)
		if !p.fenced && (p.final == nil || p.final(f)) {
			s.finishHead()
		}
		return true
	}
	return false
}

// finishHead completes the oldest request. Caller holds s.mu.
func (s *session) finishHead() {
	p := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	close(p.done)
}

// end fails every request and watcher still waiting: the connection is
// gone. It runs once, on the reader goroutine, as it exits.
func (s *session) end(readErr error) {
	_ = s.ws.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	switch {
	case s.stop != nil:
		s.endErr = s.stop
	case s.c.isClosing():
		s.endErr = ErrClosed
	default:
		s.endErr = fmt.Errorf("%w: %v", ErrDisconnected, readErr)
	}
	for _, p := range s.queue {
		p.err = s.endErr
		close(p.done)
	}
	s.queue = nil
	for _, w := range s.watchers {
		close(w.ch)
	}
	s.watchers = nil
	s.log.Debug("connection ended", "err", readErr)
}

// result returns why the session ended; valid after done is closed.
func (s *session) result() (endErr, stop error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endErr, s.stop
}

// request queues p (nil for a request nobody waits on) and writes msgs in
// one step. If the connection has already ended nothing is written and the
// error wraps errNotSent.
func (s *session) request(p *pending, msgs ...[]byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.ended {
		err := s.endErr
		s.mu.Unlock()
		return fmt.Errorf("%w: %w", errNotSent, err)
	}
	if p != nil {
		s.queue = append(s.queue, p)
	}
	s.mu.Unlock()
	for _, m := range msgs {
		_ = s.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := s.ws.WriteMessage(websocket.TextMessage, m); err != nil {
			// Closing the socket ends the reader, which fails p.
			_ = s.ws.Close()
			return fmt.Errorf("%w: write: %v", ErrDisconnected, err)
		}
	}
	return nil
}

// watch registers a watcher for the first unclaimed frame matching match.
func (s *session) watch(match func(*frame) bool) *watcher {
	w := &watcher{match: match, ch: make(chan *frame, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		close(w.ch)
		return w
	}
	s.watchers = append(s.watchers, w)
	return w
}

// unwatch removes w if it is still registered.
func (s *session) unwatch(w *watcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.watchers {
		if x == w {
			s.watchers = append(s.watchers[:i:i], s.watchers[i+1:]...)
			return
		}
	}
}

// shutdown starts the close handshake and drops the socket if the node does
// not finish it within closeGrace. It returns once the reader has ended.
func (s *session) shutdown() {
	_ = s.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeGrace))
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		_ = s.ws.Close()
		<-s.done
	}
}
