package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
)

// waitTimeout bounds every wait for a frame, a close or a condition. Frames
// on loopback arrive in microseconds; this only decides how long a failing
// test takes to fail.
const waitTimeout = 5 * time.Second

// testNode is a real node on a loopback port with a real data dir.
type testNode struct {
	tb     testing.TB
	Srv    *node.Server
	DD     *node.DataDir
	Dir    string
	Addr   string // host:port
	URL    string // ws://host:port/
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	runErr error
}

type option func(*node.Config)

// noLimits turns the per-connection rate limits off, for tests that send
// several MSGs from one socket.
func noLimits(c *node.Config) { c.RateLimits = false }

// startNode starts a node on a fresh data dir; it is stopped in cleanup.
func startNode(tb testing.TB, opts ...option) *testNode {
	tb.Helper()
	return startNodeAt(tb, tb.TempDir(), opts...)
}

// startNodeAt starts a node on data dir dir, which may hold an earlier
// node's state.
func startNodeAt(tb testing.TB, dir string, opts ...option) *testNode {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dd, err := node.OpenDataDir(ctx, dir)
	if err != nil {
		cancel()
		require.NoError(tb, err)
	}
	cfg := node.LocalConfig()
	cfg.Key = dd.Key
	cfg.Store = dd.Store
	cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), nil))
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := node.New(cfg)
	if err == nil {
		err = srv.Listen()
	}
	if err != nil {
		cancel()
		_ = dd.Close()
		require.NoError(tb, err)
	}
	n := &testNode{tb: tb, Srv: srv, DD: dd, Dir: dir, Addr: srv.Addr().String(),
		cancel: cancel, done: make(chan error, 1)}
	n.URL = "ws://" + n.Addr + "/"
	go func() { n.done <- srv.Run(ctx) }()
	tb.Cleanup(func() { n.stop() })
	return n
}

// stop cancels the node's context, waits for Run to return and closes the
// data dir. It is idempotent and returns Run's result.
func (n *testNode) stop() error {
	n.once.Do(func() {
		n.cancel()
		select {
		case n.runErr = <-n.done:
		case <-time.After(15 * time.Second):
			n.runErr = errors.New("node did not stop within 15s")
			n.tb.Error(n.runErr)
			return // leave the data dir open: Run may still use it
		}
		if err := n.DD.Close(); err != nil {
			n.tb.Errorf("close data dir: %v", err)
		}
	})
	return n.runErr
}

// waitAgents polls until the node has want identified agents.
func (n *testNode) waitAgents(t testing.TB, want int) {
	t.Helper()
	require.Eventually(t, func() bool { return n.Srv.Agents() == want }, waitTimeout, 5*time.Millisecond,
		"node should have %d identified agents", want)
}

// httpGet performs one request without keep-alive, so no client goroutine
// outlives it.
func httpGet(t testing.TB, method, url string) (int, http.Header, []byte) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: waitTimeout}
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, body
}

// frame is one decoded server frame. seq is its arrival number on the
// connection, kept out of band under the key "_seq".
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) typ() string         { return f.str("type") }
func (f frame) seq() int            { n, _ := f["_seq"].(int); return n }
func (f frame) has(k string) bool   { _, ok := f[k]; return ok }

func isType(typ string) func(frame) bool {
	return func(f frame) bool { return f.typ() == typ }
}

func isError(code string) func(frame) bool {
	return func(f frame) bool { return f.typ() == "ERROR" && f.str("code") == code }
}

// client is a real websocket client. A reader goroutine queues every frame;
// the test takes frames out by predicate, so frames it does not care about
// (notices, joins) are skipped but remain visible to later checks.
type client struct {
	tb     testing.TB
	ws     *websocket.Conn
	mu     sync.Mutex
	queue  []frame
	nseq   int
	rerr   error // why the reader stopped
	notify chan struct{}
	done   chan struct{}

	ID   string // "@id" after WELCOME
	Name string
	Priv ed25519.PrivateKey
	PEM  string
}

var dialer = websocket.Dialer{HandshakeTimeout: waitTimeout, WriteBufferSize: 64 << 10}

// dial connects to the node's root path.
func (n *testNode) dial(t testing.TB) *client {
	t.Helper()
	return dialURL(t, n.URL)
}

func dialURL(t testing.TB, url string) *client {
	t.Helper()
	return dialHeader(t, url, nil)
}

// dialHeader connects with extra request headers.
func dialHeader(t testing.TB, url string, h http.Header) *client {
	t.Helper()
	ws, _, err := dialer.Dial(url, h)
	require.NoError(t, err, "dial %s", url)
	c := &client{tb: t, ws: ws, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.rerr = err
			c.mu.Unlock()
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil || f == nil {
			f = frame{"type": "<not a JSON object>", "raw": string(data)}
		}
		c.mu.Lock()
		c.nseq++
		f["_seq"] = c.nseq
		c.queue = append(c.queue, f)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// close sends a normal close and releases the socket; safe to call twice.
func (c *client) close() {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	_ = c.ws.Close()
	<-c.done
}

// send writes one text frame: []byte and string are sent as they are,
// anything else is JSON-encoded.
func (c *client) send(v any) {
	c.tb.Helper()
	require.NoError(c.tb, c.sendErr(v), "send %.200v", v)
}

// sendErr is send that reports a write error instead of failing.
func (c *client) sendErr(v any) error {
	var data []byte
	switch v := v.(type) {
	case []byte:
		data = v
	case string:
		data = []byte(v)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// pending returns a copy of the queued frames, for failure messages.
func (c *client) pending() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]frame(nil), c.queue...)
}

// nextMatch removes and returns the first queued frame matching pred,
// waiting up to waitTimeout for it.
func (c *client) nextMatch(desc string, pred func(frame) bool) frame {
	c.tb.Helper()
	return c.nextMatchWithin(desc, pred, waitTimeout)
}

// nextMatchWithin is nextMatch with its own bound, for waits on a node
// that is working through a deliberate backlog.
func (c *client) nextMatchWithin(desc string, pred func(frame) bool, wait time.Duration) frame {
	c.tb.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, f := range c.queue {
			if pred(f) {
				c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return f
			}
		}
		rerr := c.rerr
		c.mu.Unlock()
		if rerr != nil {
			require.FailNowf(c.tb, "connection ended", "waiting for %s: %v; queued frames: %v", desc, rerr, c.pending())
		}
		select {
		case <-c.notify:
		case <-c.done:
		case <-deadline.C:
			require.FailNowf(c.tb, "timeout", "no %s within %v; queued frames: %v", desc, wait, c.pending())
		}
	}
}

// answersPing sends PING and reports whether a PONG came back before the
// node closed the socket.
func (c *client) answersPing() bool {
	c.tb.Helper()
	if c.sendErr(`{"type":"PING"}`) != nil {
		return false
	}
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, f := range c.queue {
			if f.typ() == "PONG" {
				c.queue = append(c.queue[:i:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return true
			}
		}
		rerr := c.rerr
		c.mu.Unlock()
		if rerr != nil {
			return false
		}
		select {
		case <-c.notify:
		case <-c.done:
		case <-deadline.C:
			require.FailNowf(c.tb, "timeout", "neither PONG nor close within %v", waitTimeout)
		}
	}
}

// next returns the first queued frame of type typ.
func (c *client) next(typ string) frame {
	c.tb.Helper()
	return c.nextMatch(typ, isType(typ))
}

// nextError returns the next ERROR frame and checks its code and, when msg
// is not empty, its exact message.
func (c *client) nextError(code, msg string) frame {
	c.tb.Helper()
	f := c.next("ERROR")
	require.Equal(c.tb, code, f.str("code"), "error code; frame %v", f)
	if msg != "" {
		require.Equal(c.tb, msg, f.str("message"), "error message; frame %v", f)
	}
	require.NotEmpty(c.tb, f.str("message"), "every ERROR has a message")
	return f
}

// sync is a barrier: PING, then wait for the PONG. The node answers a
// connection's frames in order and writes a connection's frames in order,
// so anything the node queued to this socket before handling the PING is in
// the queue afterwards.
func (c *client) sync() {
	c.tb.Helper()
	c.send(map[string]any{"type": "PING"})
	c.next("PONG")
}

// requireNone fails if a queued frame matches pred. Call it after sync (or
// after a frame known to come later) so the frames in question had their
// chance to arrive.
func (c *client) requireNone(desc string, pred func(frame) bool) {
	c.tb.Helper()
	for _, f := range c.pending() {
		require.Falsef(c.tb, pred(f), "unexpected %s: %v", desc, f)
	}
}

// count returns how many queued frames match pred.
func (c *client) count(pred func(frame) bool) int {
	n := 0
	for _, f := range c.pending() {
		if pred(f) {
			n++
		}
	}
	return n
}

// discard drops every queued frame.
func (c *client) discard() {
	c.mu.Lock()
	c.queue = nil
	c.mu.Unlock()
}

// closeCode waits for the node to close the socket and returns the close
// code it sent (1006 if the connection dropped without a close frame).
func (c *client) closeCode() int {
	c.tb.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		require.FailNowf(c.tb, "timeout", "connection not closed within %v; queued frames: %v", waitTimeout, c.pending())
	}
	c.mu.Lock()
	rerr := c.rerr
	c.mu.Unlock()
	var ce *websocket.CloseError
	require.Truef(c.tb, errors.As(rerr, &ce), "read ended without a close frame: %v", rerr)
	return ce.Code
}

// closeError is like closeCode and also returns the close reason.
func (c *client) closeError() *websocket.CloseError {
	c.tb.Helper()
	code := c.closeCode()
	c.mu.Lock()
	defer c.mu.Unlock()
	var ce *websocket.CloseError
	errors.As(c.rerr, &ce)
	require.Equal(c.tb, code, ce.Code)
	return ce
}

// newKey returns a fresh Ed25519 key and its public PEM.
func newKey(t testing.TB) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, priv, err := identity.GenerateKey()
	require.NoError(t, err)
	return priv, identity.EncodePublicPEM(pub)
}

// identify runs the ephemeral handshake and returns WELCOME.
func (c *client) identify(name string) frame {
	c.tb.Helper()
	c.send(map[string]any{"type": "IDENTIFY", "name": name})
	w := c.next("WELCOME")
	c.ID, c.Name = w.str("agent_id"), name
	return w
}

// requestChallenge sends IDENTIFY with pem and returns the CHALLENGE.
func (c *client) requestChallenge(name, pem string) frame {
	c.tb.Helper()
	c.send(map[string]any{"type": "IDENTIFY", "name": name, "pubkey": pem})
	return c.next("CHALLENGE")
}

// answer sends VERIFY_IDENTITY for ch signed with priv.
func (c *client) answer(ch frame, priv ed25519.PrivateKey) {
	c.tb.Helper()
	ts := float64(time.Now().UnixMilli())
	c.send(map[string]any{"type": "VERIFY_IDENTITY", "challenge_id": ch.str("challenge_id"),
		"signature": identity.SignChallenge(priv, ch.str("nonce"), ch.str("challenge_id"), ts), "timestamp": ts})
}

// identifyKey runs the pubkey handshake with priv and returns WELCOME.
func (c *client) identifyKey(name string, priv ed25519.PrivateKey) frame {
	c.tb.Helper()
	pem := identity.EncodePublicPEM(priv.Public().(ed25519.PublicKey))
	c.answer(c.requestChallenge(name, pem), priv)
	w := c.next("WELCOME")
	c.ID, c.Name, c.Priv, c.PEM = w.str("agent_id"), name, priv, pem
	return w
}

// newAgent dials and identifies an ephemeral agent.
func (n *testNode) newAgent(t testing.TB, name string) *client {
	t.Helper()
	c := n.dial(t)
	c.identify(name)
	return c
}

// newKeyAgent dials and identifies an agent with a fresh key.
func (n *testNode) newKeyAgent(t testing.TB, name string) *client {
	t.Helper()
	priv, _ := newKey(t)
	c := n.dial(t)
	c.identifyKey(name, priv)
	return c
}

// msgFrom matches MSG frames from agent id (with "@").
func msgFrom(id string) func(frame) bool {
	return func(f frame) bool { return f.typ() == "MSG" && f.str("from") == id }
}

// typeFor matches frames of type typ whose key field equals val.
func typeFor(typ, key, val string) func(frame) bool {
	return func(f frame) bool { return f.typ() == typ && f.str(key) == val }
}
