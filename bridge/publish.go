package bridge

import (
	"encoding/json"

	"github.com/agentchat/mesh/node"
)

func marshal(v any) ([]byte, error) { return json.Marshal(v) }

// publishLoop drains the outbox in order. Agent events of one batch are
// coalesced: each agent's current state is announced once.
func (b *Bridge) publishLoop() {
	for {
		evs, ok := b.out.take()
		if !ok {
			return
		}
		changed := map[string]bool{}
		var order []string
		for _, ev := range evs {
			switch ev.Kind {
			case node.EventChannelMsg, node.EventTyping, node.EventFloorClaim:
				b.publishChan(ev)
			case node.EventChannelCreated, node.EventInvite:
				b.publishChannel(ev.Channel)
			default:
				if !changed[ev.Agent.ID] {
					changed[ev.Agent.ID] = true
					order = append(order, ev.Agent.ID)
				}
			}
		}
		for _, id := range order {
			b.publishAgent(id)
		}
	}
}

// publishChan sends a local channel record (a message, or a TYPING or
// granted floor claim) on the channel's topic, or hands it to the
// channel's carrier wait (route.go) when one is under way or needed, so it
// never overtakes an earlier record of its channel and never holds up the
// other channels. Runs on the publisher goroutine.
func (b *Bridge) publishChan(ev node.Event) {
	b.mu.Lock()
	c := b.channels[ev.Channel]
	if c != nil && c.holding {
		c.held = append(c.held, ev)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	switch b.route(ev, c) {
	case routeNow:
		b.send(ev, c)
	case routeWait:
		if ev.Kind == node.EventTyping {
			return // stale by the time a carrier comes: TYPING is not worth a wait
		}
		b.mu.Lock()
		c.holding, c.held = true, []node.Event{ev}
		b.mu.Unlock()
		b.flushed.Add(1) // the goodbye waits for it, as for the publisher
		b.spawn(func() { defer b.flushed.Done(); b.awaitCarrier(ev.Channel, c) })
	}
}

// recordKind is the channel record kind of a local channel event.
func recordKind(k node.EventKind) string {
	switch k {
	case node.EventTyping:
		return kindTyping
	case node.EventFloorClaim:
		return kindFloor
	}
	return ""
}

// send publishes one record on c's topic. A message takes the channel's
// next sequence number only when it is published, so a receiver never
// waits ReorderWait for a number that was never sent; an ephemeral record
// takes none. Only the goroutine that owns c's publishing (the publisher,
// or c's carrier wait while c.holding) calls it.
func (b *Bridge) send(ev node.Event, c *carried) {
	kind := recordKind(ev.Kind)
	var seq uint64
	if kind == "" {
		b.mu.Lock()
		seq = c.outSeq + 1
		b.mu.Unlock()
	}
	data, err := b.envelope(ev, seq)
	if err != nil {
		b.log.Error("encode channel envelope", "err", err)
		return
	}
	if err := c.topic.Publish(b.pubCtx, data); err != nil {
		if b.pubCtx.Err() == nil {
			if kind == "" {
				b.count(func(s *Stats) { s.Lost++ })
			}
			b.log.Warn("publish channel record", "channel", ev.Channel, "kind", kind, "err", err)
		}
		return
	}
	b.mu.Lock()
	if kind == "" {
		c.outSeq = seq
	}
	c.unrouted = false
	b.stats.Published++
	b.mu.Unlock()
}

// publishAgent announces a local agent's current state, or its departure.
func (b *Bridge) publishAgent(id string) {
	if st, ok := b.srv.LocalAgentState(id); ok {
		w := toWire(st.Record, st.Channels)
		b.publishRoster(rosterEnvelope{Kind: kindUp, Agent: &w})
		return
	}
	b.publishRoster(rosterEnvelope{Kind: kindDown, ID: id})
}

func (b *Bridge) publishChannel(name string) {
	for _, m := range b.srv.ChannelMetas() {
		if m.Name == name {
			b.publishRoster(rosterEnvelope{Kind: kindChannel, Channels: []node.ChannelMeta{m}})
			return
		}
	}
}

// publishSnapshot sends this node's whole roster.
func (b *Bridge) publishSnapshot() {
	b.publishRoster(b.snapshot(kindSnapshot))
}

func (b *Bridge) snapshot(kind string) rosterEnvelope {
	env := rosterEnvelope{Kind: kind, Channels: b.srv.ChannelMetas()}
	for _, a := range b.srv.LocalAgents() {
		env.Agents = append(env.Agents, toWire(a.Record, a.Channels))
	}
	return env
}

// publishRoster stamps env with this node's epoch and next sequence number
// (heartbeats reuse the current one) and publishes it.
func (b *Bridge) publishRoster(env rosterEnvelope) {
	b.mu.Lock()
	if env.Kind != kindBeat {
		b.seq++
	}
	env.Epoch, env.Seq = b.epoch, b.seq
	topic := b.roster
	b.mu.Unlock()
	data, err := marshal(env)
	if err != nil {
		b.log.Error("encode roster envelope", "err", err)
		return
	}
	if err := topic.Publish(b.pubCtx, data); err != nil && b.pubCtx.Err() == nil {
		b.log.Warn("publish roster", "kind", env.Kind, "err", err)
	}
}

func (b *Bridge) count(f func(*Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}
