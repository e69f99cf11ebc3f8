package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Host is a node's presence on the mesh: a libp2p host keyed by the node
// key, a GossipSub router, kept-connected peers and stream protocols.
//
// Goroutines: libp2p and GossipSub own theirs from New until Close (the
// router runs under h.ctx). Run owns every goroutine this package starts
// (keepers, mDNS intake, DHT discovery) through h.runWG and waits for them
// before it returns; Close waits for Run to return.
//
// Lock order: notifyMu before mu. Neither is held across a libp2p call that
// can emit network notifications (Connect, ClosePeer, Close), since those
// re-enter through notifiee.
type Host struct {
	cfg    resolved
	log    *slog.Logger
	host   host.Host
	ps     *pubsub.PubSub
	tracer *tracer
	scores *scoreBook
	routes *routes // next hops toward nodes not connected (route.go)

	replays         replayGuard   // routed requests answered here (replay.go)
	passing         inflight      // routed requests being relayed (relay.go)
	routed, relayed atomic.Uint64 // Stats.Routed, Stats.Relayed

	// ctx is the Host's lifetime: the router and request handlers run under
	// it; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	// notifyMu serialises peer notifications so OnPeer callbacks for one peer
	// arrive in order. It guards the fields below.
	notifyMu sync.Mutex
	conns    map[peer.ID]int // open connections per peer
	onPeer   []func(peer string, connected bool)

	// joinMu serialises Join and SetValidator, which call into the router
	// and so are kept out of mu.
	joinMu sync.Mutex

	mu         sync.Mutex // guards the fields below
	closed     bool
	topics     map[string]*Topic
	validators map[string]bool
	handlers   map[string]handler  // by protocol, for routed requests
	kept       map[peer.ID]*keeper // peers kept connected while Run runs
	running    bool                // Run is between start and shutdown
	runCtx     context.Context     // Run's context while running
	runCancel  context.CancelFunc  // ends Run; nil before Run
	runWG      sync.WaitGroup      // Run's goroutines; Add by Run itself, or under mu while running
	runDone    chan struct{}       // closed when Run returns; nil before Run

	closeOnce sync.Once
	closeErr  error
}

// New builds the libp2p host (TCP and QUIC, Noise and TLS, resource and
// connection managers with cfg's limits) and the GossipSub router (strict
// signing, flood publishing, peer scoring, raised queues, drop-counting
// tracer). It dials nobody and starts no discovery: that is Run's job. ctx
// bounds construction only; the Host lives until Close, which the caller
// must call.
func New(ctx context.Context, cfg Config) (*Host, error) {
	rc, err := cfg.check()
	if err != nil {
		return nil, err
	}
	key, err := privKey(rc.Key)
	if err != nil {
		return nil, err
	}
	log := rc.Logger.With("component", "p2p")

	rm, err := resourceManager(rc)
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(rc.ConnLow, rc.ConnHigh)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.UserAgent("agentchat-mesh"),
	}
	if rc.Metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(rc.Metrics))
		// Our resource manager records its stats as libp2p's would; only
		// the registration is ours to do.
		rcmgr.MustRegisterWith(rc.Metrics)
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	if len(rc.listen) > 0 {
		opts = append(opts, libp2p.ListenAddrs(rc.listen...))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	if rc.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	if !rc.Relay {
		opts = append(opts, libp2p.DisableRelay())
	}
	if rc.Deny != nil {
		opts = append(opts, libp2p.ConnectionGater(denyGater(rc.Deny)))
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		// libp2p does not always close the managers it was handed when
		// construction fails; both Close methods are idempotent.
		_ = cm.Close()
		_ = rm.Close()
		return nil, fmt.Errorf("libp2p host: %w", err)
	}

	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt := newRoutes()
	h := &Host{
		cfg:        rc,
		log:        log,
		host:       lh,
		tracer:     newTracer(log, rt),
		scores:     &scoreBook{},
		routes:     rt,
		ctx:        hctx,
		cancel:     cancel,
		conns:      map[peer.ID]int{},
		topics:     map[string]*Topic{},
		validators: map[string]bool{},
		handlers:   map[string]handler{},
		kept:       map[peer.ID]*keeper{},
	}
	lh.Network().Notify(&notifiee{h: h})
	h.ps, err = h.newPubSub()
	if err != nil {
		cancel()
		_ = lh.Close()
		return nil, fmt.Errorf("gossipsub: %w", err)
	}
	lh.SetStreamHandler(protoRoute, h.serveRoute)
	for _, ai := range rc.peers {
		h.keep(ai)
	}
	log.Info("p2p host started", "peer", h.ID(), "addrs", h.Addrs())
	return h, nil
}

// resourceManager builds a fixed-limit resource manager from libp2p's
// defaults scaled to this machine, with cfg's caps on the system scope.
func resourceManager(c resolved) (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	system := rcmgr.ResourceLimits{}
	if c.MaxConns > 0 {
		system.Conns = rcmgr.LimitVal(c.MaxConns)
	}
	if c.MaxStreams > 0 {
		system.Streams = rcmgr.LimitVal(c.MaxStreams)
	}
	if c.MaxMemory > 0 {
		system.Memory = rcmgr.LimitVal64(c.MaxMemory)
	}
	limits := rcmgr.PartialLimitConfig{System: system}.Build(scaling.AutoScale())
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}

// newPubSub builds the GossipSub router under h.ctx.
func (h *Host) newPubSub() (*pubsub.PubSub, error) {
	c := h.cfg
	params := pubsub.DefaultGossipSubParams()
	if c.Heartbeat > 0 {
		params.HeartbeatInterval = c.Heartbeat
		params.HeartbeatInitialDelay = min(params.HeartbeatInitialDelay, c.Heartbeat)
	}
	inspectEvery := params.HeartbeatInterval
	return pubsub.NewGossipSub(h.ctx, h.host,
		pubsub.WithGossipSubParams(params),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		// Our own messages go to every topic peer above the publish
		// threshold, not only to the mesh: a message published before the
		// first heartbeat grafts a mesh would otherwise reach nobody, and
		// the origin is the one hop that must not depend on gossip repair.
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerScore(peerScoreParams(), scoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(h.scores.inspect), inspectEvery),
		pubsub.WithPeerOutboundQueueSize(c.QueueSize),
		pubsub.WithValidateQueueSize(c.QueueSize),
		pubsub.WithValidateThrottle(max(c.QueueSize, 8192)),
		pubsub.WithMaxMessageSize(c.MaxMessageSize),
		pubsub.WithRawTracer(h.tracer),
		pubsub.WithLogger(routerLogger(h.cfg.Logger.With("component", "gossipsub"))),
	)
}

// Close stops Run (and waits for it), cancels subscriptions, leaves topics,
// stops the router and closes the libp2p host, in that order. It is
// idempotent and safe to call concurrently; every call returns the first
// call's result.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		done, stopRun := h.runDone, h.runCancel
		topics := make([]*Topic, 0, len(h.topics))
		for _, t := range h.topics {
			topics = append(topics, t)
		}
		h.mu.Unlock()

		if stopRun != nil {
			stopRun()
			<-done
		}
		var errs []error
		for _, t := range topics {
			if err := t.close(); err != nil {
				errs = append(errs, err)
			}
		}
		h.cancel() // stops the router and request handlers
		if err := h.host.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close libp2p host: %w", err))
		}
		h.tracer.flush()
		h.log.Info("p2p host closed", "peer", h.ID())
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}

// ID returns this host's peer ID, derived from Config.Key.
func (h *Host) ID() string { return h.host.ID().String() }

// Addrs returns the addresses others can dial, each ending in /p2p/<id>.
// Listeners on 0.0.0.0 appear as the interface addresses libp2p reports.
func (h *Host) Addrs() []string {
	ai := peer.AddrInfo{ID: h.host.ID(), Addrs: h.host.Addrs()}
	full, err := peer.AddrInfoToP2pAddrs(&ai)
	if err != nil {
		return nil
	}
	out := make([]string, len(full))
	for i, a := range full {
		out[i] = a.String()
	}
	return out
}

// Connect dials addr, a multiaddr ending in /p2p/<id>, and returns once a
// connection is up (at once if one already is). It does not keep the peer
// connected; AddPeer does.
func (h *Host) Connect(ctx context.Context, addr string) error {
	ai, err := parseAddr(addr)
	if err != nil {
		return err
	}
	if err := h.host.Connect(ctx, ai); err != nil {
		return fmt.Errorf("connect %s: %w", ai.ID, err)
	}
	return nil
}

// Peers returns the IDs of connected peers.
func (h *Host) Peers() []string {
	return peerStrings(h.host.Network().Peers())
}

// OnPeer registers fn to be told when a peer becomes connected (its first
// connection opens) or disconnected (its last connection closes).
// Notifications for all peers are delivered one at a time, in order, on
// libp2p's goroutines: fn must not block long and must not call OnPeer.
func (h *Host) OnPeer(fn func(peer string, connected bool)) {
	h.notifyMu.Lock()
	h.onPeer = append(h.onPeer, fn)
	h.notifyMu.Unlock()
}

// Stats returns the router's counters and the number of connected peers.
func (h *Host) Stats() Stats {
	s := h.tracer.stats()
	s.Peers = len(h.host.Network().Peers())
	s.Routed, s.Relayed = h.routed.Load(), h.relayed.Load()
	return s
}

// notifiee turns libp2p's per-connection events into per-peer ones.
type notifiee struct{ h *Host }

func (n *notifiee) Listen(network.Network, ma.Multiaddr)      {}
func (n *notifiee) ListenClose(network.Network, ma.Multiaddr) {}

// Connected reports a peer's first connection to the OnPeer callbacks.
func (n *notifiee) Connected(_ network.Network, c network.Conn) {
	h := n.h
	p := c.RemotePeer()
	h.notifyMu.Lock()
	defer h.notifyMu.Unlock()
	h.conns[p]++
	if h.conns[p] == 1 {
		h.log.Debug("peer connected", "peer", p.String())
		for _, fn := range h.onPeer {
			fn(p.String(), true)
		}
	}
}

// Disconnected reports a peer's last closed connection to the OnPeer
// callbacks and wakes its keeper, if it is kept.
func (n *notifiee) Disconnected(_ network.Network, c network.Conn) {
	h := n.h
	p := c.RemotePeer()
	h.notifyMu.Lock()
	defer h.notifyMu.Unlock()
	if h.conns[p] == 0 {
		return // connected before Notify was registered
	}
	h.conns[p]--
	if h.conns[p] > 0 {
		return
	}
	delete(h.conns, p)
	h.log.Debug("peer disconnected", "peer", p.String())
	for _, fn := range h.onPeer {
		fn(p.String(), false)
	}
	h.mu.Lock()
	k := h.kept[p]
	h.mu.Unlock()
	if k != nil {
		k.poke()
	}
}

// peerStrings converts peer IDs to their text form.
func peerStrings(ids []peer.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
