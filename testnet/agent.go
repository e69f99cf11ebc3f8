package testnet

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/identity"
)

// Agent is a minimal agentchat client for tests and load tools: it speaks
// the wire protocol directly, with no reconnects or conveniences, so what
// a test sees is exactly what the node sent.
type Agent struct {
	ID   string // wire ID without "@", after Identify
	Name string

	ws      *websocket.Conn
	wmu     sync.Mutex
	once    sync.Once
	frames  chan Frame
	closing chan struct{} // closed by Close: stop waiting on frames
	done    chan struct{} // closed when the read loop ended
	err     error         // why the read loop ended; read after done
}

// Frame is one decoded server frame; Raw keeps the exact bytes.
type Frame struct {
	Type string
	Raw  []byte
	Data map[string]any
}

// String returns a field as a string ("" if absent).
func (f Frame) String(key string) string {
	s, _ := f.Data[key].(string)
	return s
}

// ErrClosed is returned once the connection has ended.
var ErrClosed = errors.New("agent connection closed")

// Dial connects to a node's websocket URL.
func Dial(ctx context.Context, url string) (*Agent, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	a := &Agent{ws: ws, frames: make(chan Frame, 1024), closing: make(chan struct{}), done: make(chan struct{})}
	go a.readLoop()
	return a, nil
}

func (a *Agent) readLoop() {
	defer close(a.done)
	for {
		_, b, err := a.ws.ReadMessage()
		if err != nil {
			a.err = err
			return
		}
		f := Frame{Raw: b}
		if json.Unmarshal(b, &f.Data) == nil {
			f.Type, _ = f.Data["type"].(string)
		}
		// Block rather than drop: a reader that falls behind shows up as
		// the node's slow-consumer close, never as silent loss here.
		select {
		case a.frames <- f:
		case <-a.closing:
			a.err = ErrClosed
			return
		}
	}
}

// Send writes one frame.
func (a *Agent) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return a.ws.WriteMessage(websocket.TextMessage, b)
}

// Next returns the next frame of one of the given types (any type when
// none are given), skipping others, or an error at ctx's end or close.
func (a *Agent) Next(ctx context.Context, types ...string) (Frame, error) {
	for {
		var f Frame
		select {
		case f = <-a.frames:
		case <-a.done:
			select { // frames that arrived before the close still count
			case f = <-a.frames:
			default:
				return Frame{}, fmt.Errorf("%w: %v", ErrClosed, a.err)
			}
		case <-ctx.Done():
			return Frame{}, fmt.Errorf("waiting for %v: %w", types, ctx.Err())
		}
		if len(types) == 0 || slices.Contains(types, f.Type) {
			return f, nil
		}
	}
}

// CloseCode waits for the connection to end and returns the close code the
// node sent (1006 when there was none).
func (a *Agent) CloseCode(ctx context.Context) (int, error) {
	select {
	case <-a.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	var ce *websocket.CloseError
	if errors.As(a.err, &ce) {
		return ce.Code, nil
	}
	return websocket.CloseAbnormalClosure, nil
}

// Identify sends IDENTIFY and completes the handshake: ephemeral when priv
// is nil, else with the key's PEM, answering the CHALLENGE. It returns the
// WELCOME frame.
func (a *Agent) Identify(ctx context.Context, name string, priv ed25519.PrivateKey) (Frame, error) {
	a.Name = name
	msg := map[string]any{"type": "IDENTIFY", "name": name}
	if priv != nil {
		msg["pubkey"] = identity.EncodePublicPEM(priv.Public().(ed25519.PublicKey))
	}
	if err := a.Send(msg); err != nil {
		return Frame{}, err
	}
	if priv != nil {
		ch, err := a.Next(ctx, "CHALLENGE", "ERROR")
		if err != nil {
			return Frame{}, err
		}
		if ch.Type == "ERROR" {
			return ch, fmt.Errorf("identify: %s %s", ch.String("code"), ch.String("message"))
		}
		ts := float64(time.Now().UnixMilli())
		sig := identity.SignChallenge(priv, ch.String("nonce"), ch.String("challenge_id"), ts)
		if err := a.Send(map[string]any{"type": "VERIFY_IDENTITY", "challenge_id": ch.String("challenge_id"),
			"signature": sig, "timestamp": ts}); err != nil {
			return Frame{}, err
		}
	}
	w, err := a.Next(ctx, "WELCOME", "ERROR")
	if err != nil {
		return Frame{}, err
	}
	if w.Type == "ERROR" {
		return w, fmt.Errorf("identify: %s %s", w.String("code"), w.String("message"))
	}
	a.ID = w.String("agent_id")[1:]
	return w, nil
}

// Close closes the connection.
func (a *Agent) Close() error {
	a.once.Do(func() { close(a.closing) })
	err := a.ws.Close()
	<-a.done
	return err
}
