package p2p

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// Rendezvous is the DHT namespace under which nodes advertise themselves and
// look for each other when Config.DHT is set.
const Rendezvous = "agentchat/1/mesh"

// Defaults applied by New to zero-valued Config fields.
const (
	// DefaultQueueSize is the gossipsub queue depth used when Config.QueueSize
	// is zero. The library default of 32 was measured here to lose 25% to
	// 70% of a 10,000-message burst over two hops (see
	// TestBurstSmallQueuesCountDrops); 16384 loses none.
	DefaultQueueSize = 16384
	// DefaultMaxMessageSize is the gossipsub and request frame limit used when
	// Config.MaxMessageSize is zero.
	DefaultMaxMessageSize = 4 << 20
	// DefaultRequestTimeout bounds one request/response exchange when
	// Config.RequestTimeout is zero.
	DefaultRequestTimeout = 30 * time.Second
)

// Config holds the settings of a Host. The zero value of each field means
// what its comment says; New rejects negative sizes and durations.
type Config struct {
	// Key is the node's Ed25519 private key; the peer ID derives from it.
	// Required.
	Key ed25519.PrivateKey

	// Listen are the multiaddrs to listen on. Empty means dial-only.
	Listen []string
	// Peers are bootstrap multiaddrs ending in /p2p/<id>. While Run runs each
	// is kept connected: redialled with exponential backoff between
	// ReconnectMin and ReconnectMax (with jitter), and protected from the
	// connection manager's trimming.
	Peers []string
	// MDNS turns on LAN discovery by multicast DNS (off by default: it
	// announces the node to everyone on the link).
	MDNS bool
	// DHT turns on a Kademlia DHT (protocol prefix /agentchat) bootstrapped
	// from Peers; the node advertises and looks up Rendezvous through it.
	DHT bool
	// NATPortMap asks the router for a port mapping (UPnP / NAT-PMP).
	NATPortMap bool
	// Relay enables the circuit-relay transport, so peers can be dialled
	// through relays. False disables it entirely. Requests do not need it:
	// one to a node that cannot be dialled is routed through the mesh.
	Relay bool
	// Deny, if set, refuses every connection to or from a peer for which it
	// returns true: a firewall between two nodes, enforced by this one. It
	// governs connections only: requests still travel between this node and
	// a denied one routed through other nodes (relay.go), with the origin
	// as the handler's peer, so a handler that must refuse a peer checks
	// that argument.
	Deny func(peer string) bool
	// AllowPrivateAddrs keeps the private, loopback and link-local
	// addresses other nodes announce (AddAddrs); false keeps public ones
	// only, so an announcement cannot make this node dial into a private
	// network. LocalConfig sets it.
	AllowPrivateAddrs bool

	// ConnLow and ConnHigh are the connection manager watermarks: above
	// ConnHigh connections it trims down to ConnLow. Zero means 100 and 400.
	ConnLow, ConnHigh int
	// MaxConns and MaxStreams cap the resource manager's system scope; zero
	// keeps libp2p's defaults scaled to this machine.
	MaxConns, MaxStreams int
	// MaxMemory caps the resource manager's memory in bytes; zero keeps the
	// scaled default.
	MaxMemory int64

	// QueueSize is the gossipsub per-peer outbound queue, the validation
	// queue and every subscription's buffer; the bound on concurrent
	// validations is the larger of QueueSize and the library's 8192. Zero
	// means DefaultQueueSize.
	QueueSize int
	// MaxMessageSize bounds a gossipsub message and a request or response
	// frame. Zero means DefaultMaxMessageSize.
	MaxMessageSize int
	// Heartbeat is the gossipsub heartbeat interval and the period of the
	// peer score snapshot. Zero means the library default (1s).
	Heartbeat time.Duration
	// RequestTimeout bounds one request/response exchange on either side.
	// Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration

	// ReconnectMin and ReconnectMax bound the redial backoff of kept peers.
	// A connection that stays up for ReconnectMax resets the backoff to
	// ReconnectMin. Zero means 1s and 2m.
	ReconnectMin, ReconnectMax time.Duration

	// Logger receives the package's logs; nil discards them.
	Logger *slog.Logger
	// Metrics, if set, receives libp2p's own Prometheus series (swarm,
	// identify, autonat, ...); nil turns libp2p's metrics off. Some of
	// libp2p's collectors are process-wide, so hosts sharing a process
	// report them summed.
	Metrics prometheus.Registerer
}

// DefaultConfig returns the settings for a node on the internet: TCP and
// QUIC on port 4001 on every interface, NAT port mapping and relays on,
// discovery by the configured peers only (turn on MDNS or DHT as needed).
// The caller fills in Key.
func DefaultConfig() Config {
	return Config{
		Listen: []string{
			"/ip4/0.0.0.0/tcp/4001",
			"/ip4/0.0.0.0/udp/4001/quic-v1",
		},
		NATPortMap:     true,
		Relay:          true,
		ConnLow:        100,
		ConnHigh:       400,
		QueueSize:      DefaultQueueSize,
		MaxMessageSize: DefaultMaxMessageSize,
		RequestTimeout: DefaultRequestTimeout,
		ReconnectMin:   time.Second,
		ReconnectMax:   2 * time.Minute,
	}
}

// LocalConfig returns settings for hosts on one machine (tests, testnet):
// loopback listeners on random ports, no NAT port mapping, no relay, no mDNS,
// a 100ms gossipsub heartbeat, short reconnect timers and private
// addresses learned. The caller fills in Key.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Listen = []string{
		"/ip4/127.0.0.1/tcp/0",
		"/ip4/127.0.0.1/udp/0/quic-v1",
	}
	c.NATPortMap = false
	c.Relay = false
	c.MDNS = false
	c.AllowPrivateAddrs = true
	c.Heartbeat = 100 * time.Millisecond
	c.RequestTimeout = 10 * time.Second
	c.ReconnectMin = 50 * time.Millisecond
	c.ReconnectMax = 2 * time.Second
	return c
}

// resolved is a checked Config with defaults applied and addresses parsed.
type resolved struct {
	Config
	listen []ma.Multiaddr
	peers  []peer.AddrInfo
}

// check validates c and fills in defaults for zero values.
func (c Config) check() (resolved, error) {
	r := resolved{Config: c}
	if len(c.Key) != ed25519.PrivateKeySize {
		return r, fmt.Errorf("%w: want %d bytes, got %d", ErrBadKey, ed25519.PrivateKeySize, len(c.Key))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"ConnLow", int64(c.ConnLow)}, {"ConnHigh", int64(c.ConnHigh)},
		{"MaxConns", int64(c.MaxConns)}, {"MaxStreams", int64(c.MaxStreams)},
		{"MaxMemory", c.MaxMemory}, {"QueueSize", int64(c.QueueSize)},
		{"MaxMessageSize", int64(c.MaxMessageSize)}, {"Heartbeat", int64(c.Heartbeat)},
		{"RequestTimeout", int64(c.RequestTimeout)},
		{"ReconnectMin", int64(c.ReconnectMin)}, {"ReconnectMax", int64(c.ReconnectMax)},
	} {
		if f.v < 0 {
			return r, fmt.Errorf("%w: %s is negative", ErrBadConfig, f.name)
		}
	}
	if r.ConnLow == 0 {
		r.ConnLow = 100
	}
	if r.ConnHigh == 0 {
		r.ConnHigh = max(400, r.ConnLow)
	}
	if r.ConnLow > r.ConnHigh {
		return r, fmt.Errorf("%w: ConnLow %d above ConnHigh %d", ErrBadConfig, r.ConnLow, r.ConnHigh)
	}
	if r.QueueSize == 0 {
		r.QueueSize = DefaultQueueSize
	}
	if r.MaxMessageSize == 0 {
		r.MaxMessageSize = DefaultMaxMessageSize
	}
	if r.RequestTimeout == 0 {
		r.RequestTimeout = DefaultRequestTimeout
	}
	if r.ReconnectMin == 0 {
		r.ReconnectMin = time.Second
	}
	if r.ReconnectMax == 0 {
		r.ReconnectMax = max(2*time.Minute, r.ReconnectMin)
	}
	if r.ReconnectMin > r.ReconnectMax {
		return r, fmt.Errorf("%w: ReconnectMin %v above ReconnectMax %v", ErrBadConfig, r.ReconnectMin, r.ReconnectMax)
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	for _, s := range c.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return r, fmt.Errorf("%w: listen %q: %v", ErrBadAddr, s, err)
		}
		r.listen = append(r.listen, a)
	}
	for _, s := range c.Peers {
		ai, err := parseAddr(s)
		if err != nil {
			return r, err
		}
		r.peers = append(r.peers, ai)
	}
	return r, nil
}

// parseAddr parses a multiaddr that ends in /p2p/<id>.
func parseAddr(s string) (peer.AddrInfo, error) {
	ai, err := peer.AddrInfoFromString(s)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: %v", ErrBadAddr, s, err)
	}
	return *ai, nil
}
