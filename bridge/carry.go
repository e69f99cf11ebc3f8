package bridge

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agentchat/mesh/p2p"
)

// A node carries a channel (subscribes to its topic) while it has a local
// member, while the roster names a member on another node (route.go), and
// for good if it is one of AlwaysServe. Once nobody is in it, here or
// elsewhere, it is left after CarryGrace: the grace covers a member that
// is joining right now (Serve touches the channel before and after the
// backfill) and roster flaps. Channels carried only for members elsewhere
// are capped at MaxRelayChannels, since another node's roster names as
// many channels as it likes.

// carry subscribes to a channel's topic once; relay says it is for a
// member elsewhere only. A relayed channel past MaxRelayChannels is
// refused: counted, logged, and nil returned.
func (b *Bridge) carry(name string, relay bool) error {
	b.carryMu.Lock()
	defer b.carryMu.Unlock()
	b.mu.Lock()
	if c := b.channels[name]; c != nil {
		c.touched = time.Now()
		c.relayed = c.relayed && relay
		b.mu.Unlock()
		return nil
	}
	if relay && b.relayedLocked() >= b.cfg.MaxRelayChannels {
		b.stats.RelayRefused++
		first := !b.capped
		b.capped = true
		b.mu.Unlock()
		log := b.log.Debug
		if first {
			log = b.log.Warn
		}
		log("not relaying channel: MaxRelayChannels carried already", "channel", name, "max", b.cfg.MaxRelayChannels)
		return nil
	}
	b.mu.Unlock()
	topicName := chanTopic(name)
	validate := func(_ context.Context, from string, data []byte) p2p.Verdict { return b.validateChan(name, from, data) }
	if err := b.host.SetValidator(topicName, validate); err != nil {
		return fmt.Errorf("validator for %s: %w", name, err)
	}
	t, err := b.host.Join(topicName)
	if err != nil {
		return fmt.Errorf("join %s: %w", name, err)
	}
	sub, err := t.Subscribe()
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", name, err)
	}
	c := &carried{topic: t, sub: sub, order: map[string]*originSeq{}, hinted: map[string]seqHint{},
		relayed: relay, touched: time.Now()}
	b.mu.Lock()
	b.channels[name] = c
	b.mu.Unlock()
	b.spawn(func() { b.readChannel(name, c) })
	return nil
}

// relayedLocked counts the channels carried for members elsewhere only.
// Caller holds b.mu.
func (b *Bridge) relayedLocked() int {
	n := 0
	for _, c := range b.channels {
		if c.relayed {
			n++
		}
	}
	return n
}

// touch restarts a carried channel's grace: a member is joining it.
func (b *Bridge) touch(name string) {
	b.mu.Lock()
	if c := b.channels[name]; c != nil {
		c.touched = time.Now()
	}
	b.mu.Unlock()
}

// leaveIdle leaves the channels nobody has been in for CarryGrace, and
// keeps each carried channel's relayed mark current. Runs on the ticker.
func (b *Bridge) leaveIdle(now time.Time) {
	b.carryMu.Lock()
	defer b.carryMu.Unlock()
	var gone []*carried
	b.mu.Lock()
	for name, c := range b.channels {
		if slices.Contains(b.cfg.AlwaysServe, name) {
			continue
		}
		local, remote := b.srv.LocalMembers(name), b.srv.RemoteMembers(name)
		c.relayed = local == 0
		if local > 0 || remote > 0 || c.holding {
			c.idleSince = time.Time{}
			continue
		}
		if c.idleSince.IsZero() {
			c.idleSince = now
		}
		if now.Sub(c.idleSince) < b.cfg.CarryGrace || now.Sub(c.touched) < b.cfg.CarryGrace {
			continue
		}
		delete(b.channels, name)
		gone = append(gone, c)
		b.capped = false
		b.log.Info("no longer carrying channel", "channel", name)
	}
	b.mu.Unlock()
	for _, c := range gone {
		if err := c.topic.Leave(); err != nil {
			b.log.Warn("leave channel topic", "topic", c.topic.Name(), "err", err)
		}
	}
}

// Carried lists the channels this node carries over the mesh, sorted.
func (b *Bridge) Carried() []string {
	b.mu.Lock()
	out := make([]string, 0, len(b.channels))
	for name := range b.channels {
		out = append(out, name)
	}
	b.mu.Unlock()
	slices.Sort(out)
	return out
}
