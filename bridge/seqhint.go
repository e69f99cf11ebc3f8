package bridge

import "math"

// A node that starts carrying a channel joins its origins' sequences in
// the middle: without more, the first message it gets from an origin that
// had already published on the channel looks like one after a gap and
// waits ReorderWait. So a history answer says, per origin, the last
// sequence number the answering node has delivered on the channel (for
// itself: the last it published). Deliveries and the answer are ordered by
// b.mu, so the frames of the answer hold every message a hint counts; the
// new carrier, for an origin it has not delivered from yet, starts at the
// first message it holds or gets that is no later than the one right after
// the hint. Whatever it then drops as below that start is at or before
// the hint, so in the history it was just seeded with.
//
// A hint counts deliveries, not what the validator accepted: a message
// accepted but still held behind a gap at the answering node is not in its
// history, and a hint past it would make the new carrier drop it when
// gossip brings it after a later one. For the same reason a hint is bounded
// by what the origin really sent: a delivered number is one the origin
// signed and every one before it arrived or was given up for lost, so a
// sequence number an origin claims out of the blue is never reported.
//
// A hint only ever lets a receiver start at a message it actually has; it
// never moves an origin's order state by itself. A peer lying in its hints
// can at most make a new carrier start an origin at the first message it
// gets, so that messages gossip reorders ahead of it at that moment are
// dropped (docs/federation.md, Known limits).

// seqHint is where one origin's messages on a channel stand at a node.
type seqHint struct {
	Origin string `json:"o"` // origin node's peer ID
	Epoch  int64  `json:"e"`
	Seq    uint64 `json:"s"` // last delivered (or published) sequence number
}

// hints lists where channel's origins stand at this node: each origin it
// has delivered from, and itself if it has published. Caller holds b.mu.
func (b *Bridge) hints(channel string) []seqHint {
	c := b.channels[channel]
	if c == nil {
		return nil
	}
	out := make([]seqHint, 0, len(c.order)+1)
	for origin, st := range c.order {
		if st.started && st.next > 1 {
			out = append(out, seqHint{Origin: origin, Epoch: st.epoch, Seq: st.next - 1})
		}
	}
	if c.outSeq > 0 {
		out = append(out, seqHint{Origin: b.host.ID(), Epoch: b.epoch, Seq: c.outSeq})
	}
	return out
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
		if h.Origin == self || h.Origin == "" || h.Seq == math.MaxUint64 {
			continue // no origin sends 2^64-1 messages: the hint is a lie
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
// seq: a hint says everything before it is in the history this node
// fetched. Caller holds b.mu.
func (c *carried) startsAt(origin string, epoch int64, seq uint64) bool {
	h, ok := c.hinted[origin]
	return ok && h.Epoch == epoch && h.Seq < math.MaxUint64 && seq <= h.Seq+1
}
