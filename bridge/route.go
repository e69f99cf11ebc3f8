package bridge

import (
	"github.com/agentchat/mesh/node"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// A channel's messages travel only between nodes subscribed to its topic:
// gossipsub does not forward a topic through a node that is not. So a node
// carries every channel it knows a member of, local or remote, and a node
// between two members relays their messages even when no agent of its own
// is in the channel.

// routing is what to do with a local channel message.
type routing int

const (
	routeNone routing = iota // nobody to reach: dropped, or counted as lost
	routeNow                 // a carrying node is subscribed: publish
	routeWait                // members elsewhere, no carrier yet: wait for one
)

// route decides about a local message on channel (c nil: not carried).
// With a carrying node subscribed it goes now. With no member elsewhere
// there is nobody to reach, and the message costs nothing. When the roster
// says another node hosts a member, it waits for a carrying node to
// subscribe (it may be joining right now); an uncarried channel has no
// topic to wait on, so its message is counted as lost at once.
func (b *Bridge) route(ev node.Event, c *carried) routing {
	channel := ev.Channel
	if c != nil && len(c.topic.Peers()) > 0 {
		return routeNow
	}
	remote := b.srv.RemoteMembers(channel)
	switch {
	case remote == 0:
		return routeNone
	case c == nil:
		b.unroutable(channel, nil, []node.Event{ev})
		return routeNone
	}
	return routeWait
}

// awaitCarrier is c's carrier wait, one goroutine per waiting channel:
// it waits up to PeerWait for a node to subscribe to c's topic while the
// publisher queues c's later messages behind the first (c.held), then
// publishes them all in order, or counts them as lost if none came. Other
// channels publish meanwhile. It owns c's publishing while c.holding.
func (b *Bridge) awaitCarrier(name string, c *carried) {
	found := b.awaitPeers(c)
	for {
		b.mu.Lock()
		evs := c.held
		c.held = nil
		// Lost messages take no sequence number, so after a failed wait
		// the publisher may take over at once; after a successful one this
		// goroutine keeps c until it has sent everything queued.
		c.holding = found && len(evs) > 0
		if found {
			c.unrouted = false // a carrier is here: the next failure warns again
		}
		b.mu.Unlock()
		if !found {
			b.unroutable(name, c, evs)
			return
		}
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			b.send(ev, c)
		}
	}
}

// unroutable counts the messages among evs, records on channel that
// reached no node, with a warning the first time since the channel last
// had a carrier.
func (b *Bridge) unroutable(channel string, c *carried, evs []node.Event) {
	n := 0
	for _, ev := range evs {
		if ev.Kind == node.EventChannelMsg {
			n++ // TYPING and floor claims are ephemeral: not counted as lost messages
		}
	}
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.stats.Lost += uint64(n)
	first := c == nil || !c.unrouted
	if c != nil {
		c.unrouted = true
	}
	b.mu.Unlock()
	log := b.log.Debug
	if first {
		log = b.log.Warn
	}
	log("channel messages reached no node", "channel", channel, "count", n,
		"remote_members", b.srv.RemoteMembers(channel), "carried", c != nil)
}

// awaitPeers waits up to PeerWait for a node to subscribe to c's topic.
func (b *Bridge) awaitPeers(c *carried) bool {
	deadline := time.NewTimer(b.cfg.PeerWait)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-deadline.C:
			return false
		case <-b.pubCtx.Done():
			return false
		case <-poll.C:
			if len(c.topic.Peers()) > 0 {
				return true
			}
		}
	}
}

// relay carries the channels a remote agent is in, so this node forwards
// their messages whatever the mesh's wiring.
func (b *Bridge) relay(channels []string) {
	for _, name := range channels {
		if !protocol.ValidChannel(name) {
			continue
		}
		if err := b.carry(name, true); err != nil {
			b.log.Warn("carry channel", "channel", name, "err", err)
		}
	}
}
