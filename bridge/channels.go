package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
	"github.com/agentchat/mesh/protocol"
)

// carried is a channel this node carries over the mesh.
type carried struct {
	topic  *p2p.Topic
	sub    *p2p.Subscription
	outSeq uint64                // this node's messages on the channel (publisher goroutine)
	order  map[string]*originSeq // per origin node: delivery order state
	// Carrier wait (route.go): while holding, the channel's messages queue
	// in held behind one that waits for a carrying node; unrouted: the last
	// wait failed and no carrier came since (failures after the first are
	// logged at Debug).
	holding  bool
	held     []node.Event
	unrouted bool
	hinted   map[string]seqHint // per origin node: where history answers say it stood (seqhint.go)
	// Carrying (carry.go): relayed: carried only for members elsewhere
	// (counted against MaxRelayChannels); touched: when a member last
	// asked for it; idleSince: since when nobody is in it (zero: someone).
	relayed            bool
	touched, idleSince time.Time
}

// originSeq restores one origin's order on one channel: next is the seq
// expected; messages ahead of a gap wait in pending until it fills or
// ReorderWait passes, then the gap is counted as lost. Until the first
// delivery (started), a gap is what was sent before this node listened,
// not a loss: the origin's sequence starts at 1 and gossip may deliver the
// first messages out of order.
type originSeq struct {
	epoch   int64
	next    uint64
	started bool
	pending map[uint64]inbound
	gapAt   time.Time
}

type inbound struct {
	frame protocol.MsgFrame
	raw   []byte
}

// validateChan is channel's topic validator: the record must be well
// formed for this channel (decodeChan; a frame for another channel is
// rejected: no honest node publishes one, and accepting it would forward
// it to every carrier of the topic), a message must carry a sequence
// number, and the author must be an agent the origin node hosts (session
// proof).
func (b *Bridge) validateChan(channel, from string, data []byte) p2p.Verdict {
	r, err := decodeChan(channel, data)
	if err == nil && r.Kind == "" && (r.Seq == 0 || r.Seq == math.MaxUint64) {
		err = fmt.Errorf("%w: sequence number %d", ErrMalformed, r.Seq) // numbers start at 1 and never wrap
	}
	if err == nil {
		err = b.checkAuthor(from, &r.Author)
	}
	if err != nil {
		b.reject(from, "channel", err)
		return p2p.Reject
	}
	return p2p.Accept
}

// readChannel delivers one channel's records from other nodes: messages
// exactly once and in their origin's order, ephemeral records as they
// come.
func (b *Bridge) readChannel(name string, c *carried) {
	for {
		msg, err := c.sub.Next(b.ctx)
		if err != nil {
			return
		}
		if msg.Local || msg.From == b.host.ID() {
			continue // delivered locally when it was sent
		}
		r, err := decodeChan(name, msg.Data)
		if err != nil {
			continue // the validator refused it
		}
		switch r.Kind {
		case kindTyping:
			b.srv.DeliverTyping(name, r.Author.record())
		case kindFloor:
			b.deliverFloor(name, msg.From, &r)
		default:
			r.msg.Replay = false
			b.mu.Lock()
			b.order(name, c, msg.From, r.Epoch, r.Seq, inbound{frame: r.msg, raw: r.Frame})
			b.mu.Unlock()
		}
	}
}

// order delivers in, and anything it unblocks, in sequence. Caller holds
// b.mu.
func (b *Bridge) order(name string, c *carried, origin string, epoch int64, seq uint64, in inbound) {
	st := c.order[origin]
	if st == nil || st.epoch != epoch {
		if st != nil && epoch < st.epoch {
			b.stats.Duplicates++
			return
		}
		st = &originSeq{epoch: epoch, next: 1, pending: map[uint64]inbound{}}
		c.order[origin] = st
	}
	if !st.started && seq > st.next && c.startsAt(origin, epoch, seq) {
		st.next = seq // what came before was sent before this node listened
	}
	switch {
	case seq < st.next:
		b.stats.Duplicates++
		return
	case seq > st.next:
		if _, dup := st.pending[seq]; dup {
			b.stats.Duplicates++
			return
		}
		st.pending[seq] = in
		if st.gapAt.IsZero() {
			st.gapAt = time.Now()
		}
		return
	}
	b.deliver(name, in)
	st.next++
	st.started = true
	b.drain(name, st)
}

func (b *Bridge) drain(name string, st *originSeq) {
	for {
		in, ok := st.pending[st.next]
		if !ok {
			break
		}
		delete(st.pending, st.next)
		b.deliver(name, in)
		st.next++
	}
	if len(st.pending) == 0 {
		st.gapAt = time.Time{}
	} else {
		st.gapAt = time.Now()
	}
}

func (b *Bridge) deliver(name string, in inbound) {
	b.srv.DeliverChannel(name, in.frame, in.raw)
	b.stats.Delivered++
}

// flushGaps gives up on gaps older than ReorderWait: the missing messages
// are counted as lost and logged, and delivery resumes after them.
func (b *Bridge) flushGaps(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, c := range b.channels {
		for origin, st := range c.order {
			if st.gapAt.IsZero() || now.Sub(st.gapAt) < b.cfg.ReorderWait {
				continue
			}
			low := st.next
			for seq := range st.pending {
				if low == st.next || seq < low {
					low = seq
				}
			}
			if st.started {
				lost := low - st.next
				b.stats.Lost += lost
				b.log.Warn("mesh messages lost", "channel", name, "peer", short(origin), "count", lost)
			}
			st.next = low
			st.started = true
			b.drain(name, st)
		}
	}
}

// topicPeers lists peers carrying a channel, else every connected peer.
func (b *Bridge) topicPeers(name string) []string {
	b.mu.Lock()
	c := b.channels[name]
	b.mu.Unlock()
	if c != nil {
		if ps := c.topic.Peers(); len(ps) > 0 {
			return ps
		}
	}
	return b.host.Peers()
}

// backfill asks peers for a channel's recent history, merging what the
// first two that answer hold.
func (b *Bridge) backfill(ctx context.Context, name string, peers []string) {
	req, _ := marshal(historyRequest{Channel: name})
	got := 0
	for _, p := range peers {
		if got == 2 || ctx.Err() != nil {
			return
		}
		resp, err := b.host.Request(ctx, p, protoHistory, req)
		if err != nil {
			b.log.Debug("history request", "peer", short(p), "channel", name, "err", err)
			continue
		}
		var h historyResponse
		if err := json.Unmarshal(resp, &h); err != nil {
			b.reject(p, "history", err)
			continue
		}
		frames := h.Frames[:0]
		for _, f := range h.Frames {
			if f.Type == protocol.TypeMsg && f.To == name && f.From != "@server" {
				frames = append(frames, f)
			}
		}
		b.srv.SeedHistory(name, frames)
		b.applyHints(name, h.Seqs)
		got++
	}
}

// handleHistory answers a history request with agent messages (server
// notices are local to each node).
func (b *Bridge) handleHistory(_ context.Context, _ string, req []byte) ([]byte, error) {
	var r historyRequest
	if err := json.Unmarshal(req, &r); err != nil || !protocol.ValidChannel(r.Channel) {
		return nil, fmt.Errorf("%w: history request", ErrMalformed)
	}
	var out historyResponse
	// The hints and the buffer are read together (b.mu orders deliveries),
	// so the frames hold every delivered message the hints count.
	b.mu.Lock()
	out.Seqs = b.hints(r.Channel)
	frames := b.srv.History(r.Channel)
	b.mu.Unlock()
	for _, f := range frames {
		if f.From != "@server" {
			out.Frames = append(out.Frames, f)
		}
	}
	return marshal(out)
}
