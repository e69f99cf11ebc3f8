package bridge

// A node that starts carrying a channel joins its origins' sequences in
// the middle: without more, the first message it gets from an origin that
// had already published on the channel looks like one after a gap and
// waits ReorderWait. So a history answer says, per origin, the last
// sequence number the answering node has accepted on the channel (for
// itself: the last it published), and the new carrier starts each origin
// it has not delivered from yet right after it. The answering node counts
// what its validator accepted, not what it has delivered: a message it has
// already forwarded (before the new carrier subscribed) but not yet
// delivered would otherwise be waited for in vain.

// seqHint is where one origin's messages on a channel stand at a node.
type seqHint struct {
	Origin string `json:"o"` // origin node's peer ID
	Epoch  int64  `json:"e"`
	Seq    uint64 `json:"s"` // last accepted (or published) sequence number
}

// noteSeen records that the validator accepted seq from origin on channel.
func (b *Bridge) noteSeen(channel, origin string, epoch int64, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.channels[channel]
	if c == nil {
		return
	}
	if h, ok := c.seen[origin]; !ok || epoch > h.Epoch || (epoch == h.Epoch && seq > h.Seq) {
		c.seen[origin] = seqHint{Origin: origin, Epoch: epoch, Seq: seq}
	}
}

// hints lists where channel's origins stand at this node. Caller holds
// b.mu.
func (b *Bridge) hints(channel string) []seqHint {
	c := b.channels[channel]
	if c == nil {
		return nil
	}
	out := []seqHint{{Origin: b.host.ID(), Epoch: b.epoch, Seq: c.outSeq}}
	for _, h := range c.seen {
		out = append(out, h)
	}
	return out
}

// applyHints starts the origins of channel this node has not delivered
// from yet where a history answer says they stand. Messages held for them
// up to there are counted as duplicates (the answer's history holds them,
// unless the answering node had not delivered them yet); those after are
// delivered in order. An origin already started keeps its order state.
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
		st := c.order[h.Origin]
		switch {
		case st == nil || h.Epoch > st.epoch:
			st = &originSeq{epoch: h.Epoch, next: h.Seq + 1, pending: map[uint64]inbound{}}
			c.order[h.Origin] = st
		case h.Epoch < st.epoch || st.started:
			continue
		default:
			st.next = max(st.next, h.Seq+1)
		}
		st.started = true
		for seq := range st.pending {
			if seq < st.next {
				delete(st.pending, seq)
				b.stats.Duplicates++
			}
		}
		b.drain(channel, st)
	}
}
