package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// handleDirect delivers a DM or file chunk sent by another node. The
// sending node must host the frame's author.
func (b *Bridge) handleDirect(_ context.Context, peer string, req []byte) ([]byte, error) {
	var r directRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("%w: direct request", ErrMalformed)
	}
	var head struct {
		Type string `json:"type"`
		From string `json:"from"`
	}
	if err := json.Unmarshal(r.Frame, &head); err != nil || head.From != "@"+r.From.ID {
		return nil, fmt.Errorf("%w: direct frame", ErrMalformed)
	}
	if err := b.checkAuthor(peer, &r.From); err != nil {
		b.reject(peer, "direct", err)
		return []byte("refused: " + err.Error()), nil
	}
	if !b.srv.DeliverDirect(r.To, r.Frame) {
		return []byte("not found"), nil
	}
	if head.Type == protocol.TypeProposal {
		b.srv.ObserveProposal(r.From.record(), peer, r.Frame)
	}
	return []byte("ok"), nil
}

// onPeer learns a newly connected node's roster and backfills carried
// channels from it, so a node that (re)joins the mesh catches up at once.
func (b *Bridge) onPeer(peer string, connected bool) {
	if !connected || b.ctx.Err() != nil {
		return
	}
	b.spawn(func() {
		b.syncFrom(peer)
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
		defer cancel()
		b.mu.Lock()
		names := make([]string, 0, len(b.channels))
		for name := range b.channels {
			names = append(names, name)
		}
		b.mu.Unlock()
		for _, name := range names {
			b.backfill(ctx, name, []string{peer})
		}
		b.reconcile(ctx, peer)
	})
}

// tick runs the bridge's timers: heartbeats, snapshots, node expiry,
// reorder gaps and idle channels.
func (b *Bridge) tick() {
	beat := time.NewTicker(b.cfg.Heartbeat)
	defer beat.Stop()
	lastSnap := time.Now()
	for {
		select {
		case <-b.ctx.Done():
			return
		case now := <-beat.C:
			// The origin signs its heartbeat, so its addresses are its own
			// word: nodes it is not wired to learn how to dial it.
			b.publishRoster(rosterEnvelope{Kind: kindBeat, Addrs: b.host.Addrs()})
			if now.Sub(lastSnap) >= b.cfg.SnapshotEvery {
				lastSnap = now
				b.publishSnapshot()
				b.reconcileRandom()
			}
			b.expireNodes(now)
			b.flushGaps(now)
			b.leaveIdle(now)
		}
	}
}
