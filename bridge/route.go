package bridge

import (
	"time"

	"github.com/agentchat/mesh/protocol"
)

// A channel's messages travel only between nodes subscribed to its topic:
// gossipsub does not forward a topic through a node that is not. So a node
// carries every channel it knows a member of, local or remote, and a node
// between two members relays their messages even when no agent of its own
// is in the channel.

// routed reports whether a local message on channel c (nil: not carried)
// has a node to go to. With no carrying node subscribed and no member
// elsewhere there is nobody to reach, and the message costs nothing. When
// the roster says another node hosts a member, it waits up to PeerWait for
// a carrying node to subscribe (it may be joining right now); failing that
// the message is counted as lost and logged. Runs on the publisher
// goroutine only.
func (b *Bridge) routed(channel string, c *carried) bool {
	if c != nil && len(c.topic.Peers()) > 0 {
		return true
	}
	remote := b.srv.RemoteMembers(channel)
	if remote == 0 {
		return false
	}
	b.mu.Lock()
	wait := c != nil && !c.unrouted
	b.mu.Unlock()
	if wait && b.awaitPeers(c) {
		return true
	}
	b.mu.Lock()
	b.stats.Lost++
	first := c == nil || !c.unrouted
	if c != nil {
		c.unrouted = true // until a publish succeeds, do not wait again
	}
	b.mu.Unlock()
	log := b.log.Debug
	if first {
		log = b.log.Warn
	}
	log("channel message reached no node", "channel", channel, "remote_members", remote, "carried", c != nil)
	return false
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
		if err := b.carry(name); err != nil {
			b.log.Warn("carry channel", "channel", name, "err", err)
		}
	}
}
