package p2p

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// keepTag protects kept peers from the connection manager's trimming.
const keepTag = "agentchat-keep"

// dialTimeout bounds one dial attempt of a discovery or keeper loop.
const dialTimeout = 15 * time.Second

// mdnsService is the mDNS service name nodes announce and browse for.
const mdnsService = "_agentchat-mesh._udp"

// Run runs discovery until ctx ends or the Host is closed: a keeper loop per
// configured or added peer, mDNS when Config.MDNS is set, DHT rendezvous
// when Config.DHT is set. It then stops and waits for everything it started
// and returns nil. It returns an error at once if mDNS or the DHT cannot
// start, if the Host is closed, or if Run is already running. The libp2p
// host and the router stay up after Run returns; Close tears them down.
func (h *Host) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	if h.running || (h.runDone != nil && !isClosed(h.runDone)) {
		h.mu.Unlock()
		return ErrRunning
	}
	done := make(chan struct{})
	defer close(done)
	h.runDone = done
	h.running = true
	h.runCtx = ctx
	h.runCancel = cancel
	for _, k := range h.kept {
		h.startKeeper(ctx, k)
	}
	h.mu.Unlock()

	h.log.Info("p2p discovery running", "peers", len(h.cfg.peers), "mdns", h.cfg.MDNS, "dht", h.cfg.DHT)
	err := h.runDiscovery(ctx)
	if err != nil {
		cancel()
	}
	<-ctx.Done()

	h.mu.Lock()
	h.running = false
	h.runCtx = nil
	h.mu.Unlock()
	h.runWG.Wait()
	h.log.Info("p2p discovery stopped")
	return err
}

// runDiscovery starts mDNS and the DHT under h.runWG; each stops when ctx ends.
func (h *Host) runDiscovery(ctx context.Context) error {
	if h.cfg.MDNS {
		if err := h.startMDNS(ctx); err != nil {
			return err
		}
	}
	if h.cfg.DHT {
		if err := h.startDHT(ctx); err != nil {
			return err
		}
	}
	return nil
}

// AddPeer adds addr (a multiaddr ending in /p2p/<id>) to the peers kept
// connected, as if it were in Config.Peers. If Run is running the peer is
// dialled at once; otherwise when Run starts. Adding a known peer again adds
// its address.
func (h *Host) AddPeer(addr string) error {
	ai, err := parseAddr(addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	h.keep(ai)
	return nil
}

// RemovePeer stops keeping addr's peer (by its /p2p/<id>) connected: its
// keeper loop has ended when RemovePeer returns, so the peer is not dialled
// again, and the connection manager may trim it. An open connection stays
// open. Removing a peer that is not kept does nothing.
func (h *Host) RemovePeer(addr string) error {
	ai, err := parseAddr(addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	k, ok := h.kept[ai.ID]
	delete(h.kept, ai.ID)
	var done chan struct{}
	if ok && k.stop != nil {
		k.stop()
		done = k.done
	}
	h.mu.Unlock()
	if !ok {
		return nil
	}
	h.host.ConnManager().Unprotect(ai.ID, keepTag)
	if done != nil {
		<-done
	}
	h.log.Info("peer no longer kept", "peer", ai.ID.String())
	return nil
}

// keeper keeps one peer connected; its loop runs on one Run-owned goroutine.
type keeper struct {
	id   peer.ID
	wake chan struct{}      // poked on disconnect; capacity 1
	stop context.CancelFunc // ends the loop (RemovePeer); set under mu when it starts
	done chan struct{}      // closed when the loop has ended
}

// poke wakes the keeper loop without blocking.
func (k *keeper) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// keep records ai as kept and starts its loop if Run is running.
func (h *Host) keep(ai peer.AddrInfo) {
	if ai.ID == h.host.ID() {
		return
	}
	h.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
	h.host.ConnManager().Protect(ai.ID, keepTag)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.kept[ai.ID]; ok {
		return
	}
	k := &keeper{id: ai.ID, wake: make(chan struct{}, 1)}
	h.kept[ai.ID] = k
	if h.running {
		h.startKeeper(h.runCtx, k)
	}
}

// startKeeper starts k's loop. Callers hold h.mu with h.running set, so the
// Add happens before Run's Wait.
func (h *Host) startKeeper(ctx context.Context, k *keeper) {
	ctx, k.stop = context.WithCancel(ctx)
	done := make(chan struct{})
	k.done = done
	h.runWG.Add(1)
	go func() {
		defer h.runWG.Done()
		defer close(done)
		h.keepLoop(ctx, k)
	}()
}

// keepLoop dials k's peer whenever it is not connected. Each dial waits a
// jittered backoff first, doubling from ReconnectMin to ReconnectMax; a
// connection that stays up for ReconnectMax resets it, so a peer that keeps
// dropping us is not redialled in a tight loop. The first failed dial of
// an outage is a Warn with the time of the next try; the others are Debug.
func (h *Host) keepLoop(ctx context.Context, k *keeper) {
	log := h.log.With("peer", k.id.String())
	backoff := h.cfg.ReconnectMin
	first, warned := true, false
	for ctx.Err() == nil {
		if h.host.Network().Connectedness(k.id) != network.Connected {
			if !first && !sleep(ctx, jitter(backoff)) {
				return
			}
			first = false
			backoff = min(2*backoff, h.cfg.ReconnectMax)
			if err := h.dialKept(ctx, k.id); err != nil {
				switch {
				case ctx.Err() != nil:
				case !warned:
					// The next try is within jitter's 20% of backoff.
					log.Warn("kept peer unreachable; will retry", "err", err,
						"retry_at", time.Now().Add(backoff).UTC().Format(time.RFC3339), "retry_in", backoff)
					warned = true
				default:
					log.Debug("redial failed", "err", err, "retry_in", backoff)
				}
				continue
			}
			warned = false
			log.Info("kept peer connected")
		}
		// Connected: wait for a disconnect poke, or for the connection to
		// prove stable, or a periodic check in case a poke was missed.
		t := time.NewTimer(h.cfg.ReconnectMax)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-k.wake:
			t.Stop()
			log.Info("kept peer disconnected; redialling", "in", backoff)
		case <-t.C:
			if h.host.Network().Connectedness(k.id) == network.Connected {
				backoff = h.cfg.ReconnectMin
			}
		}
	}
}

// dialKept dials a kept peer through the addresses in the peerstore. It
// clears the swarm's own dial backoff first: the keeper's backoff replaces
// it, and the swarm's (5s and up) would defeat short LocalConfig timers.
func (h *Host) dialKept(ctx context.Context, id peer.ID) error {
	if sw, ok := h.host.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(id)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return h.host.Connect(ctx, peer.AddrInfo{ID: id})
}

// startMDNS announces this host on the LAN and connects to peers found
// there. The mDNS service reports peers on its own goroutine; they pass
// through a small buffer to one Run-owned goroutine that dials them.
func (h *Host) startMDNS(ctx context.Context) error {
	found := make(chan peer.AddrInfo, 32)
	svc := mdns.NewMdnsService(h.host, mdnsService, mdnsNotifee(func(ai peer.AddrInfo) {
		select {
		case found <- ai:
		default: // the dialler is busy; the next announcement retries
		}
	}))
	if err := svc.Start(); err != nil {
		return fmt.Errorf("start mdns: %w", err)
	}
	h.runWG.Add(1)
	go func() {
		defer h.runWG.Done()
		defer func() {
			if err := svc.Close(); err != nil {
				h.log.Warn("close mdns", "err", err)
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ai := <-found:
				h.dialFound(ctx, ai, "mdns")
			}
		}
	}()
	return nil
}

// mdnsNotifee adapts a function to mdns.Notifee.
type mdnsNotifee func(peer.AddrInfo)

// HandlePeerFound is called by the mDNS service for every peer it finds.
func (f mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) { f(ai) }

// dialFound connects to a discovered peer unless it is us or already
// connected.
func (h *Host) dialFound(ctx context.Context, ai peer.AddrInfo, via string) {
	if ai.ID == h.host.ID() || len(ai.Addrs) == 0 ||
		h.host.Network().Connectedness(ai.ID) == network.Connected {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := h.host.Connect(dctx, ai); err != nil {
		if ctx.Err() == nil {
			h.log.Debug("dial discovered peer", "peer", ai.ID.String(), "via", via, "err", err)
		}
		return
	}
	h.log.Info("connected to discovered peer", "peer", ai.ID.String(), "via", via)
}

// jitter spreads d by ±20% so that peers restarted together do not redial
// in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	spread := int64(d) / 5
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}

// sleep waits for d or ctx, whichever ends first, and reports whether the
// full d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
