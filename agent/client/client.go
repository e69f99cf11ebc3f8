package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// Client is an agent's connection to a node. Its methods are safe for
// concurrent use. Create it with Dial; Close it when done.
type Client struct {
	opts   Options
	log    *slog.Logger
	priv   ed25519.PrivateKey // nil for an ephemeral agent
	pubPEM string             // "" for an ephemeral agent
	dialer websocket.Dialer
	pace   *pacer
	events chan Event

	// ctx is the client's lifetime: canceled by Close or when the client
	// stops for good, which wakes every waiting call.
	ctx       context.Context
	cancel    context.CancelFunc
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	done      chan struct{} // closed when every goroutine has ended

	// helpers counts the VERIFY_REQUEST answerers. Only readers add to it;
	// the supervisor waits for it after the last reader has ended.
	helpers sync.WaitGroup
	dropped atomic.Uint64

	mu       sync.Mutex    // guards the fields below
	sess     *session      // the live, identified connection; nil while reconnecting
	changed  chan struct{} // closed and replaced whenever sess changes
	welcome  *protocol.Welcome
	channels []string // joined channels, in join order; re-joined on reconnect
	err      error    // why the client stopped, once it has
}

// Dial connects to the node at opts.URL, identifies (answering the
// CHALLENGE with the identity's key when there is one), waits for WELCOME and
// joins opts.Channels. An ERROR from the node comes back as a *ServerError.
// ctx bounds only the connecting; the client then lives until Close.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:    opts,
		log:     opts.Logger.With("component", "agent-client", "url", opts.URL),
		pace:    newPacer(opts.RateLimit, RateWindow),
		events:  make(chan Event, opts.EventBuffer),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		dialer: websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: opts.DialTimeout,
		},
	}
	if opts.Identity != nil {
		c.priv, c.pubPEM = opts.Identity.Private(), opts.Identity.PublicKey
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	s, w, err := c.connect(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.attach(s, w)
	go c.run(s)
	for _, ch := range opts.Channels {
		if _, err := c.join(ctx, s, ch, true); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("join %s: %w", ch, err)
		}
		c.remember(ch)
	}
	c.log.Info("connected", "agent", w.AgentID)
	return c, nil
}

// connect dials the node and runs the IDENTIFY handshake on a new session.
// On success the session's reader is running and the caller owns it.
func (c *Client) connect(ctx context.Context) (*session, *protocol.Welcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // Close aborts a dial in progress
	defer stop()
	ws, _, err := c.dialer.DialContext(ctx, c.opts.URL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", c.opts.URL, err)
	}
	s := c.newSession(ws)
	go s.readLoop()
	w, err := c.identify(ctx, s)
	if err != nil {
		_ = ws.Close()
		<-s.done
		return nil, nil, err
	}
	return s, w, nil
}

// identify runs IDENTIFY → [CHALLENGE → VERIFY_IDENTITY] → WELCOME (§4).
func (c *Client) identify(ctx context.Context, s *session) (*protocol.Welcome, error) {
	isType := func(types ...string) func(*frame) bool {
		return func(f *frame) bool { return slices.Contains(types, f.hdr.Type) }
	}
	frames, err := c.do(ctx, s, &identifyMsg{Type: protocol.TypeIdentify, Name: c.opts.Name, Pubkey: c.pubPEM},
		reply{take: isType(protocol.TypeChallenge, protocol.TypeWelcome)})
	if err != nil {
		return nil, fmt.Errorf("identify: %w", err)
	}
	if frames[0].hdr.Type == protocol.TypeChallenge {
		ch, err := decodeAs[protocol.Challenge](frames[0])
		if err != nil {
			return nil, fmt.Errorf("identify: decode CHALLENGE: %w", err)
		}
		if c.priv == nil {
			return nil, fmt.Errorf("identify: node sent a CHALLENGE: %w", ErrNoIdentity)
		}
		ts := float64(time.Now().UnixMilli())
		frames, err = c.do(ctx, s, &verifyIdentityMsg{Type: protocol.TypeVerifyIdentity, ChallengeID: ch.ChallengeID,
			Signature: identity.SignChallenge(c.priv, ch.Nonce, ch.ChallengeID, ts), Timestamp: ts},
			reply{take: isType(protocol.TypeWelcome)})
		if err != nil {
			return nil, fmt.Errorf("identify: verify identity: %w", err)
		}
	}
	w, err := decodeAs[protocol.Welcome](frames[0])
	if err != nil {
		return nil, fmt.Errorf("identify: decode WELCOME: %w", err)
	}
	return w, nil
}

// attach makes s the live session.
func (c *Client) attach(s *session, w *protocol.Welcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess, c.welcome = s, w
	close(c.changed)
	c.changed = make(chan struct{})
}

// detach forgets s as the live session; calls wait for the next one.
func (c *Client) detach(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == s {
		c.sess = nil
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// finish records why the client stopped (the first reason wins) and wakes
// every waiting call.
func (c *Client) finish(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.cancel()
}

func (c *Client) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// Close ends the session with a normal close and stops reconnecting, then
// waits for every goroutine of the client. Calls still waiting fail with
// ErrClosed, and Events is closed. Close is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
	})
	<-c.done
	return nil
}

// Done is closed once the client has stopped for good: after Close, or when
// the connection ended and it will not reconnect.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client stopped (ErrClosed, ErrDisplaced, …), or nil
// while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// stopErr is the error for a call made after the client stopped.
func (c *Client) stopErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// Events returns the channel of events (see Event). It is closed after the
// client stops. Read it steadily: when its buffer is full, events are
// dropped (DroppedEvents) so the connection never stalls.
func (c *Client) Events() <-chan Event { return c.events }

// DroppedEvents returns how many events were dropped because Events was
// full.
func (c *Client) DroppedEvents() uint64 { return c.dropped.Load() }

// emit delivers an event without ever blocking the reader.
func (c *Client) emit(ev Event) {
	select {
	case c.events <- ev:
	default:
		if n := c.dropped.Add(1); n == 1 || n%1000 == 0 {
			c.log.Warn("event buffer full; dropping events", "dropped", n, "buffer", cap(c.events))
		}
	}
}

// unclaimed handles a frame no request or watcher took: it answers
// VERIFY_REQUEST when the client holds a key, then emits the frame.
func (c *Client) unclaimed(s *session, f *frame) {
	switch f.hdr.Type {
	case protocol.TypePong:
		return // a fence whose request was abandoned and already answered
	case protocol.TypeVerifyRequest:
		if c.priv != nil && f.hdr.From != "" && f.hdr.Nonce != "" && f.hdr.RequestID != "" {
			c.helpers.Add(1)
			go func() {
				defer c.helpers.Done()
				c.answerVerify(s, f.hdr.RequestID, f.hdr.Nonce)
			}()
		}
	}
	c.emit(decodeFrame(f.hdr.Type, f.data, c.opts.RawEvents))
}

// AgentID returns the agent's wire ID ("@id") from the latest WELCOME. An
// ephemeral agent gets a new one on every connection.
func (c *Client) AgentID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.AgentID
}

// Welcome returns a copy of the latest WELCOME frame.
func (c *Client) Welcome() protocol.Welcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.welcome
}

// Name returns the IDENTIFY name.
func (c *Client) Name() string { return c.opts.Name }

// Identity returns the agent's identity, nil for an ephemeral agent.
func (c *Client) Identity() *identity.File { return c.opts.Identity }

// Channels returns the channels joined so far, which a reconnect re-joins.
func (c *Client) Channels() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.channels)
}

func (c *Client) remember(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.channels, ch) {
		c.channels = append(c.channels, ch)
	}
}

func (c *Client) forget(ch string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels = slices.DeleteFunc(c.channels, func(x string) bool { return x == ch })
}
