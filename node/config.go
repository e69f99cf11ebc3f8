package node

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentchat/mesh/protocol"
)

// Config holds every setting of a Server. Start from DefaultConfig (or
// LocalConfig in tests); New checks it.
type Config struct {
	// Listen is the HOST:PORT of the websocket and HTTP listener.
	Listen string
	// ServerName is WELCOME.server and /health "server".
	ServerName string
	// Version is /health "version".
	Version string
	// TLSCert and TLSKey, both set, make the listener serve wss://.
	TLSCert, TLSKey string

	// Key is the node's Ed25519 key. Challenges bind to its public half.
	// Required.
	Key ed25519.PrivateKey
	// Store persists the allowlist and bans. Required.
	Store datastore.Batching
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Federation carries events to other nodes; nil means a node alone.
	Federation Federation
	// Market handles the marketplace frames; nil refuses them.
	Market Market
	// Revocations names the revoked agent keys, which fail the challenge;
	// nil means none are known.
	Revocations Revocations
	// HonorBansFrom lists operator keys whose signed ban records
	// (identity.Ban, gossiped on the mesh) this node enforces like its own
	// bans. Records signed by Key are always enforced. Empty: bans stay
	// per node, as ADMIN_BAN's are. Server.SetHonorBansFrom changes it
	// while the node runs.
	HonorBansFrom []ed25519.PublicKey
	// OnBan, if set, is told of each ban record published at this node
	// (POST /bans), once durable; the federation gossips it.
	OnBan func(raw []byte)
	// HTTP, if set, serves the HTTP requests the node itself does not
	// (neither an upgrade, /health nor /api/connections), e.g. the ledger.
	HTTP *http.ServeMux
	// Mesh, if set, fills the /health "mesh" block (peer ID, peers,
	// counters of the federation).
	Mesh func() any
	// Metrics, if set, receives the node's Prometheus series (metrics.go);
	// nil counts them unexported.
	Metrics prometheus.Registerer

	// Channels are created at start, public, in this order.
	Channels []string
	// VerifiedOnlyChannels are created at start and need verified agents.
	VerifiedOnlyChannels []string
	// BufferSize is the per-channel replay buffer length.
	BufferSize int
	// PrivateChannels allows CREATE_CHANNEL invite_only and INVITE.
	PrivateChannels bool
	// Notices posts the "came online", "went offline" and "joined" server
	// notices of §9.2 to channels.
	Notices bool
	// PresenceLimit scopes membership news: AGENT_JOINED, AGENT_LEFT and
	// the server notices are sent in a channel only while it has at most
	// this many members (here and on other nodes), so a crowd arriving
	// costs O(N) frames, not O(N²). LIST_AGENTS stays exact. 0: no limit.
	PresenceLimit int
	// Limits of the validator (content size).
	Limits protocol.Limits
	// MaxFrame is the largest websocket message accepted, in bytes; larger
	// closes with 1009.
	MaxFrame int64

	// RateLimits turns the per-connection limits below on.
	RateLimits bool
	// PreAuthFrames and PostAuthFrames cap frames per RateWindow before and
	// after IDENTIFY. Over PreAuthFrames closes with 1008; over
	// PostAuthFrames answers RATE_LIMITED and drops the frame.
	PreAuthFrames, PostAuthFrames int
	RateWindow                    time.Duration
	// MsgInterval is the minimum spacing of MSG per connection.
	MsgInterval time.Duration
	// ChunkInterval is the minimum spacing of FILE_CHUNK per connection.
	ChunkInterval time.Duration
	// NickInterval is the minimum spacing of SET_NICK per connection.
	NickInterval time.Duration
	// MaxConnsPerIP caps concurrent sockets per client IP; 0 is no cap.
	MaxConnsPerIP int
	// TrustProxy takes the client IP from X-Forwarded-For.
	TrustProxy bool
	// WriteDelay, if positive, lets frames gather: the flusher waits this
	// long between write rounds, so a busy connection is written at most
	// once per delay (fewer, larger writes for up to that much latency).
	WriteDelay time.Duration
	// SendQueue is the number of frames queued to one agent before it is
	// disconnected as a slow consumer (close 1013).
	SendQueue int

	// ChallengeTimeout bounds the handshake.
	ChallengeTimeout time.Duration
	// VerifyTimeout bounds VERIFY_REQUEST.
	VerifyTimeout time.Duration
	// TakeoverDelay is the first hold of a verified takeover; repeated
	// takeovers within TakeoverReset double it up to TakeoverMax.
	TakeoverDelay, TakeoverMax, TakeoverReset time.Duration
	// PingInterval is the websocket ping period; a peer that sends no pong
	// and no frame for PongTimeout is dropped.
	PingInterval, PongTimeout time.Duration
	// IdentifyTimeout closes sockets that have not identified.
	IdentifyTimeout time.Duration
	// FloorTTL is how long a RESPONDING_TO claim lasts.
	FloorTTL time.Duration
	// SweepInterval is how often timers (challenges, keepalive) are checked.
	SweepInterval time.Duration
	// WriteTimeout bounds one write to an agent; a peer that accepts no
	// data for that long is dropped. Zero means 10 s.
	WriteTimeout time.Duration
	// ShutdownGrace bounds the close handshake with each agent at shutdown.
	ShutdownGrace time.Duration
	// ParkAfter is how long an agent sends nothing before its socket is
	// parked: no reader goroutine or read buffer until it turns readable
	// (Linux; park.go). Zero never parks.
	ParkAfter time.Duration

	// AdminKey authorises the admin frames of §16 and /api/connections;
	// "" disables them.
	AdminKey string
	// Allowlist enables the allowlist; AllowlistStrict refuses pubkeys not
	// on it and ephemeral agents.
	Allowlist, AllowlistStrict bool
	// GenesisID is always verified.
	GenesisID string
	// Motd is the initial message of the day.
	Motd string
	// Secrets are the operator's secret values by name (SecretsFromEnv);
	// agent text containing them is redacted, as are the built-in patterns.
	Secrets map[string]string
}

// DefaultConfig returns the settings of DESIGN.md "Compatibility decisions".
func DefaultConfig() Config {
	return Config{
		Listen:           "0.0.0.0:6667",
		ServerName:       "agentchat",
		Version:          "0.0.0",
		Channels:         []string{"#general", "#agents", "#discovery"},
		BufferSize:       20,
		PrivateChannels:  true,
		Notices:          true,
		PresenceLimit:    100,
		Limits:           protocol.Limits{MaxContent: protocol.DefaultMaxContent, MaxChunk: protocol.DefaultMaxFrame},
		MaxFrame:         protocol.DefaultMaxFrame,
		RateLimits:       true,
		PreAuthFrames:    10,
		PostAuthFrames:   60,
		RateWindow:       10 * time.Second,
		MsgInterval:      time.Second,
		ChunkInterval:    100 * time.Millisecond,
		NickInterval:     30 * time.Second,
		SendQueue:        4096,
		ChallengeTimeout: 60 * time.Second,
		VerifyTimeout:    30 * time.Second,
		TakeoverDelay:    5 * time.Second,
		TakeoverMax:      60 * time.Second,
		TakeoverReset:    5 * time.Minute,
		PingInterval:     30 * time.Second,
		PongTimeout:      70 * time.Second,
		IdentifyTimeout:  2 * time.Minute,
		FloorTTL:         45 * time.Second,
		SweepInterval:    time.Second,
		ShutdownGrace:    2 * time.Second,
		ParkAfter:        2 * time.Second,
		GenesisID:        "8addfe276526c9f6",
	}
}

// LocalConfig is DefaultConfig with short timers for loopback tests:
// ephemeral port, quick takeover and sweeps.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Listen = "127.0.0.1:0"
	c.TakeoverDelay = 50 * time.Millisecond
	c.TakeoverMax = 200 * time.Millisecond
	c.SweepInterval = 20 * time.Millisecond
	c.ShutdownGrace = 500 * time.Millisecond
	c.ParkAfter = 100 * time.Millisecond // on Linux, tests exercise parking throughout
	return c
}

func (c *Config) check() error {
	var errs []error
	if len(c.Key) != ed25519.PrivateKeySize {
		errs = append(errs, errors.New("node key is missing"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("datastore is missing"))
	}
	if c.BufferSize < 0 {
		errs = append(errs, fmt.Errorf("buffer size %d is negative", c.BufferSize))
	}
	if c.SendQueue < 1 {
		errs = append(errs, fmt.Errorf("send queue %d must be at least 1", c.SendQueue))
	}
	if c.WriteDelay < 0 || c.WriteDelay > time.Second {
		errs = append(errs, fmt.Errorf("write delay %s must be within [0, 1s]", c.WriteDelay))
	}
	if c.PresenceLimit < 0 {
		errs = append(errs, fmt.Errorf("presence limit %d is negative", c.PresenceLimit))
	}
	if c.MaxFrame < 1024 {
		errs = append(errs, fmt.Errorf("max frame %d is below 1024 bytes", c.MaxFrame))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key"))
	}
	for _, ch := range append(append([]string{}, c.Channels...), c.VerifiedOnlyChannels...) {
		if !protocol.ValidChannel(ch) {
			errs = append(errs, fmt.Errorf("channel %q is not a valid name", ch))
		}
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.ParkAfter < 0 {
		errs = append(errs, errors.New("park-after must not be negative"))
	}
	for _, d := range []time.Duration{c.WriteTimeout, c.RateWindow, c.ChallengeTimeout, c.VerifyTimeout, c.PingInterval, c.PongTimeout, c.IdentifyTimeout, c.SweepInterval, c.FloorTTL} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("timer %v must be positive", d))
			break
		}
	}
	return errors.Join(errs...)
}
