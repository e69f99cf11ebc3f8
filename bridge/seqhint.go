package bridge

import "sync"

// A node that starts carrying a channel joins its origins' sequences in
// the middle: without more, the first message it gets from an origin that
// had already published on the channel looks like one after a gap and
// waits ReorderWait. So a history answer says, per origin, the last
// sequence number the answering node has accepted on the channel (for
// itself: the last it published), and the new carrier, for an origin it
// has not delivered from yet, starts at the first message it holds or gets
// that is no later than the one right after. The answering node counts
// what its validator accepted, not what it has delivered: a message it
// forwarded before the new carrier subscribed but has not delivered yet
// would otherwise be waited for in vain.
//
// A hint only ever lets a receiver start at a message it actually has; it
// never moves an origin's order state, so a peer lying in its hints cannot
// make this node drop another origin's messages.

// seqHint is where one origin's messages on a channel stand at a node.
type seqHint struct {
	Origin string `json:"o"` // origin node's peer ID
	Epoch  int64  `json:"e"`
	Seq    uint64 `json:"s"` // last accepted (or published) sequence number
}

// seenSet records, per channel and origin, the last message this node's
// validator accepted. It has its own lock: validators run on gossipsub's
// goroutines, for every message, and should not contend for b.mu.
type seenSet struct {
	mu   sync.Mutex
	last map[string]map[string]seqHint // channel -> origin -> last accepted
}

func (s *seenSet) note(channel, origin string, epoch int64, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]map[string]seqHint{}
	}
	byOrigin := s.last[channel]
	if byOrigin == nil {
		byOrigin = map[string]seqHint{}
		s.last[channel] = byOrigin
	}
	if h, ok := byOrigin[origin]; !ok || epoch > h.Epoch || (epoch == h.Epoch && seq > h.Seq) {
		byOrigin[origin] = seqHint{Origin: origin, Epoch: epoch, Seq: seq}
	}
}

func (s *seenSet) list(channel string) []seqHint {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]seqHint, 0, len(s.last[channel]))
	for _, h := range s.last[channel] {
		out = append(out, h)
	}
	return out
}

// hints lists where channel's origins stand at this node. Caller holds
// b.mu.
func (b *Bridge) hints(channel string) []seqHint {
	c := b.channels[channel]
	if c == nil {
		return nil
	}
	return append(b.seen.list(channel), seqHint{Origin: b.host.ID(), Epoch: b.epoch, Seq: c.outSeq})
}

// applyHints keeps the hints of a history answer for channel, and starts
// the origins that are waiting on a gap the hints show was sent before
// this node listened.
func (b *Bridge) applyHints(channel string, hints []seqHint) {
	self := b.host.ID()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.channels[channel]
	if c == nil {
		return
	}
	for _, h := range hints {
		if h.Origin == self || h.Origin == "" {
			continue
		}
		if old, ok := c.hinted[h.Origin]; ok && (old.Epoch > h.Epoch || (old.Epoch == h.Epoch && old.Seq >= h.Seq)) {
			continue
		}
		c.hinted[h.Origin] = h
		st := c.order[h.Origin]
		if st == nil || st.started || st.epoch != h.Epoch || len(st.pending) == 0 {
			continue
		}
		low := uint64(0)
		for seq := range st.pending {
			if low == 0 || seq < low {
				low = seq
			}
		}
		if c.startsAt(h.Origin, st.epoch, low) {
			st.next = low
			st.started = true
			b.drain(channel, st)
		}
	}
}

// startsAt reports whether an origin not delivered from yet may start at
// seq: a hint says everything before it was sent before this node
// listened. Caller holds b.mu.
func (c *carried) startsAt(origin string, epoch int64, seq uint64) bool {
	h, ok := c.hinted[origin]
	return ok && h.Epoch == epoch && seq-1 <= h.Seq
}
