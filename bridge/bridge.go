package bridge

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
)

// Bridge is a node's federation: it implements node.Federation on top of a
// p2p.Host.
//
// Goroutines: Run owns them all: the outbox publisher, the roster reader,
// one reader per carried channel, and the ticker (heartbeats, snapshots,
// node expiry, reorder flushes).
type Bridge struct {
	cfg   Config
	host  *p2p.Host
	log   *slog.Logger
	epoch int64 // this boot; receivers reset their order state when it changes

	srv *node.Server // set by Bind, before anything runs
	// ctx is the bridge's lifetime: readers and timers stop when Run's
	// context ends. pubCtx outlives it by the final flush, so publishing
	// stops only after the goodbye.
	ctx, pubCtx   context.Context
	stop, stopPub context.CancelFunc
	wg            sync.WaitGroup
	flushed       sync.WaitGroup // the publisher, drained at shutdown

	out outbox

	carryMu sync.Mutex // serialises carrying and leaving topics; taken before mu

	mu       sync.Mutex // guards the fields below
	roster   *p2p.Topic
	channels map[string]*carried // channel name -> topic state
	nodes    map[string]*peerNode
	seq      uint64 // roster sequence of this node
	stats    Stats
	capped   bool // MaxRelayChannels was hit and logged; cleared when a relayed channel is left

	replicas []*replica // replicated sets; fixed before Run

	lookup lookups       // roster fetches for agents not in the roster yet
	syncs  chan struct{} // slots for roster fetches gossip triggers (roster.go)

	proofMu sync.Mutex      // guards proofs; never held with mu
	proofs  map[string]bool // verified session proofs, by proofKey
}

// Stats counts what the bridge did with mesh traffic, for /health and logs.
type Stats struct {
	Published  uint64 `json:"published"`
	Delivered  uint64 `json:"delivered"`
	Duplicates uint64 `json:"duplicates"`
	Lost       uint64 `json:"lost"`
	Rejected   uint64 `json:"rejected"`
	// SyncsDeferred counts roster fetches a gap in a node's roster
	// sequence called for while maxGossipSyncs were running; that node's
	// next snapshot brings this one up to date instead.
	SyncsDeferred uint64 `json:"syncs_deferred"`
	// RelayRefused counts remote members' channels not carried because
	// MaxRelayChannels were carried already.
	RelayRefused uint64 `json:"relay_refused"`
	// Lookups counts roster fetch rounds for agents the roster did not
	// name (lookup.go).
	Lookups uint64 `json:"lookups"`
	Nodes   int    `json:"nodes"`
}

// New builds a bridge on host. Nothing runs until Run.
func New(cfg Config, host *p2p.Host) *Bridge {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	if cfg.CarryGrace <= 0 {
		cfg.CarryGrace = def.CarryGrace
	}
	if cfg.MaxRelayChannels <= 0 {
		cfg.MaxRelayChannels = def.MaxRelayChannels
	}
	b := &Bridge{
		cfg:      cfg,
		host:     host,
		log:      log.With("component", "bridge"),
		epoch:    time.Now().UnixNano(),
		channels: make(map[string]*carried),
		nodes:    make(map[string]*peerNode),
		proofs:   make(map[string]bool),
		syncs:    make(chan struct{}, maxGossipSyncs),
	}
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.pubCtx, b.stopPub = context.WithCancel(context.Background())
	b.out.init()
	return b
}

// Bind gives the bridge the node it federates. Call it once, after
// node.New and before the node or the bridge runs: the node may call the
// bridge (Serve, SendDirect) as soon as agents connect.
func (b *Bridge) Bind(srv *node.Server) { b.srv = srv }

// Run carries the bound node's traffic over the mesh until ctx ends, then
// leaves: it publishes what the node still queued, says goodbye, and waits
// for its goroutines.
func (b *Bridge) Run(ctx context.Context) error {
	if b.srv == nil {
		return errors.New("bridge: Run before Bind")
	}
	defer b.wg.Wait() // runs last: after the cancels below
	defer b.stopPub()
	defer b.stop()
	if err := b.host.SetValidator(rosterTopic, b.validateRoster); err != nil {
		return fmt.Errorf("roster validator: %w", err)
	}
	roster, err := b.host.Join(rosterTopic)
	if err != nil {
		return fmt.Errorf("join roster topic: %w", err)
	}
	sub, err := roster.Subscribe()
	if err != nil {
		return fmt.Errorf("subscribe roster topic: %w", err)
	}
	b.mu.Lock()
	b.roster = roster
	b.mu.Unlock()
	b.host.HandleRequest(protoDirect, b.handleDirect)
	b.host.HandleRequest(protoHistory, b.handleHistory)
	b.host.HandleRequest(protoSnapshot, b.handleSnapshot)
	b.host.HandleRequest(protoMarket, b.handleMarket)
	b.host.HandleRequest(protoVerify, b.handleVerify)
	b.host.HandleRequest(protoCourt, b.handleCourt)
	b.host.HandleRequest(protoFloor, b.handleFloor)
	b.host.OnPeer(b.onPeer)
	for _, name := range b.cfg.AlwaysServe {
		if err := b.carry(name, false); err != nil {
			return err
		}
	}
	if err := b.startReplicas(); err != nil {
		return err
	}
	b.spawn(func() { b.readRoster(sub) })
	b.flushed.Add(1)
	b.spawn(func() { defer b.flushed.Done(); b.publishLoop() })
	b.spawn(b.tick)
	b.spawn(func() { // bound the final flush
		<-b.ctx.Done()
		t := time.NewTimer(b.cfg.RequestTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			b.stopPub()
		case <-b.pubCtx.Done():
		}
	})
	b.publishSnapshot()
	<-ctx.Done()
	b.stop()
	// Leaving: publish what the node still queued (its agents' departures),
	// then say goodbye so peers drop this node now rather than at NodeTTL.
	b.out.close()
	b.flushed.Wait()
	b.publishRoster(rosterEnvelope{Kind: kindBye})
	b.stopPub()
	sub.Cancel()
	b.mu.Lock()
	for _, c := range b.channels {
		c.sub.Cancel()
	}
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

func (b *Bridge) spawn(f func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f()
	}()
}

// Stats returns the bridge's counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Nodes = len(b.nodes)
	return s
}

// Publish implements node.Federation: the event is queued and published in
// order by the outbox goroutine, so the node never waits on the mesh.
func (b *Bridge) Publish(ev node.Event) { b.out.push(ev) }

// SendDirect implements node.Federation: the frame goes over a stream to
// the node hosting agent id. ErrNoRoute means no node's roster names it
// (lookup.go); a node that cannot be reached or refuses is another error.
func (b *Bridge) SendDirect(ctx context.Context, from node.AgentRecord, id string, frame []byte) error {
	return b.toHostOf(ctx, id, protoDirect, directRequest{To: id, From: toWire(from, nil), Frame: frame})
}

// toHostOf sends req over proto to the node hosting agent id, which
// answers "ok" when the agent got it.
func (b *Bridge) toHostOf(ctx context.Context, id, proto string, req any) error {
	host, ok := b.hostOf(ctx, id)
	if !ok {
		return node.ErrNoRoute
	}
	resp, err := b.request(ctx, host, proto, req)
	if err != nil {
		return err
	}
	if resp != "ok" {
		return fmt.Errorf("node %s answered %q", short(host), resp)
	}
	return nil
}

// request sends v to peer over proto, bounded by RequestTimeout, and
// returns the answer as text.
func (b *Bridge) request(ctx context.Context, peer, proto string, v any) (string, error) {
	req, err := marshal(v)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	resp, err := b.host.Request(ctx, peer, proto, req)
	if err != nil {
		return "", fmt.Errorf("node %s unreachable: %w", short(peer), err)
	}
	return string(resp), nil
}

// Serve implements node.Federation: start carrying a channel and seed its
// buffer from a peer before the first local member joins.
func (b *Bridge) Serve(ctx context.Context, channel string) {
	if err := b.carry(channel, false); err != nil {
		b.log.Warn("carry channel", "channel", channel, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	b.backfill(ctx, channel, b.topicPeers(channel))
	b.touch(channel) // the member joins right after: the grace starts now
}

// peerKey returns the Ed25519 key a peer ID embeds.
func peerKey(id string) (ed25519.PublicKey, error) { return p2p.PublicKeyFromPeerID(id) }

func short(id string) string {
	if len(id) > 12 {
		return id[len(id)-8:]
	}
	return id
}
