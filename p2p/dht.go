package p2p

import (
	"context"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// dhtPrefix keeps our DHT apart from the public IPFS one.
const dhtPrefix = "/agentchat"

// startDHT starts a Kademlia DHT bootstrapped from the configured peers and a
// Run-owned goroutine that advertises Rendezvous and dials the peers found
// under it. The goroutine closes the DHT when ctx ends.
func (h *Host) startDHT(ctx context.Context) error {
	d, err := dht.New(h.host,
		dht.Mode(dht.ModeAutoServer),
		dht.ProtocolPrefix(dhtPrefix),
		dht.BootstrapPeers(h.cfg.peers...),
	)
	if err != nil {
		return fmt.Errorf("start dht: %w", err)
	}
	if err := d.Bootstrap(ctx); err != nil {
		_ = d.Close()
		return fmt.Errorf("bootstrap dht: %w", err)
	}
	h.runWG.Add(1)
	go func() {
		defer h.runWG.Done()
		defer func() {
			if err := d.Close(); err != nil {
				h.log.Warn("close dht", "err", err)
			}
		}()
		h.rendezvous(ctx, drouting.NewRoutingDiscovery(d))
	}()
	return nil
}

// rendezvous advertises this node under Rendezvous and looks for others.
// Lookups start every ReconnectMin and back off to every ReconnectMax, so a
// new node finds the mesh quickly and an established one stays quiet; the
// advertisement is renewed at half its TTL.
func (h *Host) rendezvous(ctx context.Context, rd *drouting.RoutingDiscovery) {
	every := h.cfg.ReconnectMin
	var readvertise time.Time
	for ctx.Err() == nil {
		if time.Now().After(readvertise) {
			ttl, err := rd.Advertise(ctx, Rendezvous)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Debug("dht advertise", "err", err)
				}
			} else {
				readvertise = time.Now().Add(ttl / 2)
			}
		}
		found, err := rd.FindPeers(ctx, Rendezvous)
		if err == nil {
			// Drain to the end: the DHT's lookup goroutine closes the
			// channel when it finishes or ctx ends.
			for ai := range found {
				h.dialFound(ctx, ai, "dht")
			}
		} else if ctx.Err() == nil {
			h.log.Debug("dht find peers", "err", err)
		}
		if !sleep(ctx, jitter(every)) {
			return
		}
		every = min(2*every, h.cfg.ReconnectMax)
	}
}
