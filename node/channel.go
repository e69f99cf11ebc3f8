package node

import (
	"sync"

	"github.com/agentchat/mesh/protocol"
)

// channel is one chat channel: its members on this node, its invite list
// and its replay buffer.
type channel struct {
	name         string
	inviteOnly   bool
	verifiedOnly bool

	mu      sync.Mutex // guards the fields below; taken after Server.mu
	members map[*conn]struct{}
	remotes map[string]*remote  // members on other nodes, by agent ID
	invited map[string]struct{} // agent IDs without "@"
	buf     ring
}

// addChannel creates a channel; the caller holds s.mu or is New.
func (s *Server) addChannel(name string, inviteOnly, verifiedOnly bool) *channel {
	ch := &channel{
		name:         name,
		inviteOnly:   inviteOnly,
		verifiedOnly: verifiedOnly,
		members:      make(map[*conn]struct{}),
		remotes:      make(map[string]*remote),
		invited:      make(map[string]struct{}),
		buf:          ring{frames: make([]protocol.MsgFrame, 0, s.cfg.BufferSize), max: s.cfg.BufferSize},
	}
	s.channels[name] = ch
	s.chanOrder = append(s.chanOrder, name)
	return ch
}

// announce broadcasts a membership frame (AGENT_JOINED, AGENT_LEFT) to
// every member but skip, unless the channel, counting the agent that joins
// or leaves, is larger than limit (Config.PresenceLimit). Caller holds
// ch.mu.
func (ch *channel) announce(limit int, frame any, skip *conn) {
	if limit > 0 && len(ch.members)+len(ch.remotes) > limit {
		return
	}
	if b, err := protocol.Encode(frame); err == nil {
		ch.broadcast(b, skip)
	}
}

// relay encodes frame and queues it to every member except skip, taking
// ch.mu; it returns the encoded frame, nil if it could not be encoded.
func (ch *channel) relay(frame any, skip *conn) []byte {
	b, err := protocol.Encode(frame)
	if err != nil {
		return nil
	}
	ch.mu.Lock()
	ch.broadcast(b, skip)
	ch.mu.Unlock()
	return b
}

// broadcast queues b to every member except skip; caller holds ch.mu, so
// every member sees the channel's frames in one order.
func (ch *channel) broadcast(b []byte, skip *conn) {
	for m := range ch.members {
		if m != skip {
			m.send(b)
		}
	}
}

// ring is a channel's replay buffer: the last max messages, oldest first.
type ring struct {
	frames []protocol.MsgFrame
	start  int
	max    int
}

func (r *ring) push(f protocol.MsgFrame) {
	if r.max == 0 {
		return
	}
	if len(r.frames) < r.max {
		r.frames = append(r.frames, f)
		return
	}
	r.frames[r.start] = f
	r.start = (r.start + 1) % r.max
}

// snapshot returns the buffered messages, oldest first.
func (r *ring) snapshot() []protocol.MsgFrame {
	out := make([]protocol.MsgFrame, 0, len(r.frames))
	out = append(out, r.frames[r.start:]...)
	return append(out, r.frames[:r.start]...)
}
