package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/agentchat/mesh/identity"
)

// Defaults of the zero Options fields.
const (
	DefaultDialTimeout  = 30 * time.Second
	DefaultCallTimeout  = 10 * time.Second
	DefaultReconnectMin = 2 * time.Second  // PROTOCOL.md §20: min(2 s × 2^(n−1), 60 s) + jitter
	DefaultReconnectMax = 60 * time.Second // ibid.
	DefaultEventBuffer  = 1024
	DefaultRateLimit    = 50 // frames per RateWindow; the node closes or refuses above 60
	DefaultReadTimeout  = 90 * time.Second
	// RateWindow is the window of Options.RateLimit, the node's flood window.
	RateWindow = 10 * time.Second
	// VerifyTimeout bounds VerifyPeer at least this long: the node itself
	// waits 30 s for the target before it reports a timeout (§15).
	VerifyTimeout = 35 * time.Second
)

// Options configure a Client. Every field but URL has a usable zero value,
// documented on the field.
type Options struct {
	// URL is the node's websocket URL, ws:// or wss:// (http:// and
	// https:// are taken to mean the same host). Required.
	URL string
	// Name is the IDENTIFY name, 1–32 of [A-Za-z0-9_-]. "" means the
	// identity file's name, else "agent-<pid>". The node forgets nicks set
	// with SetNick; a reconnect identifies with Name again.
	Name string
	// Identity is the agent's key pair. nil means an ephemeral agent: a new
	// random ID on every connection, unsigned messages, no marketplace.
	Identity *identity.File
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger

	// DialTimeout bounds connecting: the websocket dial and the IDENTIFY
	// handshake, which a node holds for its takeover delay when the same
	// identity is still connected (§4.4). Zero means 30 s.
	DialTimeout time.Duration
	// CallTimeout bounds every call on top of its context. Zero means 10 s.
	CallTimeout time.Duration
	// ReadTimeout is how long the connection may stay silent (no frame, no
	// websocket ping) before it is taken for dead. The node pings every
	// 30 s. Zero means 90 s.
	ReadTimeout time.Duration

	// Reconnect makes the client reconnect after the connection drops,
	// identify again and re-join the channels joined so far, reporting a
	// *Reconnected event. It does not reconnect after Close, after
	// SESSION_DISPLACED, KICKED or BANNED, or when the node refuses the
	// identity (BANNED, NOT_ALLOWED, VERIFICATION_FAILED).
	Reconnect bool
	// ReconnectMin and ReconnectMax shape the delay before attempt n:
	// min(ReconnectMin × 2^(n−1), ReconnectMax) plus a random jitter below
	// ReconnectMin/2. Zero means 2 s and 60 s (PROTOCOL.md §20).
	ReconnectMin, ReconnectMax time.Duration
	// MaxReconnectTime gives up reconnecting after this long; zero means
	// keep trying until Close.
	MaxReconnectTime time.Duration

	// Channels are joined right after connecting (and re-joined after each
	// reconnect). Their JOINED and replayed messages arrive as events.
	Channels []string
	// RawEvents delivers every server frame as a *RawEvent holding its exact
	// bytes instead of decoding it into its protocol struct.
	RawEvents bool
	// EventBuffer is the capacity of the Events channel. When it is full,
	// further events are dropped and counted (DroppedEvents) rather than
	// stalling the connection. Zero means 1024.
	EventBuffer int
	// RateLimit is the most frames the client writes per RateWindow (10 s),
	// kept below the node's flood limit so that no frame is refused for
	// flooding; calls wait for room. Zero means 50; negative turns pacing
	// off.
	RateLimit int
}

// withDefaults checks o and returns a copy with the zero fields filled in.
func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		return o, errors.New("client options: URL is required")
	}
	u, err := NormalizeURL(o.URL)
	if err != nil {
		return o, fmt.Errorf("client options: %w", err)
	}
	o.URL = u
	if o.Identity != nil {
		if o.Identity.Private() == nil || !o.Identity.Public().Equal(o.Identity.Private().Public()) {
			return o, fmt.Errorf("client options: identity %s: %w", o.Identity.AgentID, ErrNoIdentity)
		}
	}
	if o.Name == "" && o.Identity != nil {
		o.Name = o.Identity.Name
	}
	if o.Name == "" {
		o.Name = "agent-" + strconv.Itoa(os.Getpid())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.CallTimeout, DefaultCallTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.ReconnectMin, DefaultReconnectMin)
	def(&o.ReconnectMax, DefaultReconnectMax)
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = o.ReconnectMin
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	o.Channels = append([]string(nil), o.Channels...)
	return o, nil
}

// NormalizeURL checks a node URL and maps http(s):// to ws(s)://.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("node URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("node URL %q: scheme must be ws:// or wss://", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("node URL %q has no host", raw)
	}
	return u.String(), nil
}
