package p2p

import (
	"log/slog"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Stats counts what the GossipSub router did with messages since New. Every
// way a message can be lost is counted somewhere here, so a gap between what
// one node published and what another delivered shows up as a number.
type Stats struct {
	// Peers is the number of currently connected peers.
	Peers int `json:"peers"`
	// Published counts messages this host published successfully.
	Published uint64 `json:"published"`
	// Delivered counts remote messages that passed validation and were
	// handed to local subscribers.
	Delivered uint64 `json:"delivered"`
	// Dropped counts messages lost to full queues: messages in outbound RPCs
	// dropped because a peer's queue was full, and inbound messages dropped
	// because the validation queue or the validation throttle was full.
	Dropped uint64 `json:"dropped"`
	// DroppedControl counts dropped outbound RPCs that carried only control
	// messages (gossip, graft, prune), which can delay repair of a loss.
	DroppedControl uint64 `json:"dropped_control"`
	// Undeliverable counts messages a local subscriber was too slow to take
	// (its buffer of QueueSize was full).
	Undeliverable uint64 `json:"undeliverable"`
	// Rejected counts messages refused as invalid: our validator returned
	// Reject, or the signature or origin was bad. The forwarding peer is
	// penalised.
	Rejected uint64 `json:"rejected"`
	// Ignored counts messages our validator returned Ignore for.
	Ignored uint64 `json:"ignored"`
	// Duplicates counts copies of messages already seen; gossip produces
	// them routinely.
	Duplicates uint64 `json:"duplicates"`
	// Routed counts requests this host sent hop by hop because it could
	// not reach their target directly; Relayed counts routed requests it
	// passed on for other nodes (relay.go).
	Routed  uint64 `json:"routed"`
	Relayed uint64 `json:"relayed"`
}

// tracer is the pubsub.RawTracer that feeds Stats. The router calls it from
// its event loop and from validation goroutines, so every method is a few
// atomic operations plus at most one rate-limited log line.
type tracer struct {
	log    *slog.Logger
	routes *routes // learns the reverse path of every delivered message

	published, delivered             atomic.Uint64
	dropped, droppedControl          atomic.Uint64
	undeliverable, rejected, ignored atomic.Uint64
	duplicates                       atomic.Uint64

	lastLog    atomic.Int64  // unix nanoseconds of the last Warn line
	loggedLoss atomic.Uint64 // loss() at the last Warn line
}

var _ pubsub.RawTracer = (*tracer)(nil)

// logEvery is the minimum interval between two Warn lines about losses.
const logEvery = time.Second

func newTracer(log *slog.Logger, rt *routes) *tracer { return &tracer{log: log, routes: rt} }

// stats returns the counters; the caller fills in Peers.
func (t *tracer) stats() Stats {
	return Stats{
		Published:      t.published.Load(),
		Delivered:      t.delivered.Load(),
		Dropped:        t.dropped.Load(),
		DroppedControl: t.droppedControl.Load(),
		Undeliverable:  t.undeliverable.Load(),
		Rejected:       t.rejected.Load(),
		Ignored:        t.ignored.Load(),
		Duplicates:     t.duplicates.Load(),
	}
}

// loss sums the counters that mean a message did not arrive where it should.
func (t *tracer) loss() uint64 {
	return t.dropped.Load() + t.droppedControl.Load() + t.undeliverable.Load() + t.rejected.Load()
}

// warn logs the running counts at most once per logEvery, and only when a
// loss counter moved since the last line.
func (t *tracer) warn(p peer.ID) {
	now := time.Now().UnixNano()
	last := t.lastLog.Load()
	if now-last < int64(logEvery) || !t.lastLog.CompareAndSwap(last, now) {
		return
	}
	t.report("last_peer", p.String())
}

// flush logs the final counts if a loss happened since the last Warn line;
// Close calls it so the tail of a burst is not left unreported.
func (t *tracer) flush() { t.report() }

// report logs the running counts if a loss counter moved since the last line.
func (t *tracer) report(attrs ...any) {
	loss := t.loss()
	if t.loggedLoss.Swap(loss) == loss {
		return
	}
	s := t.stats()
	t.log.Warn("gossip messages lost or refused", append(attrs,
		"dropped", s.Dropped, "dropped_control", s.DroppedControl,
		"undeliverable", s.Undeliverable, "rejected", s.Rejected,
		"ignored", s.Ignored, "duplicates", s.Duplicates)...)
}

// DropRPC counts an outbound RPC the router dropped because p's queue was full.
func (t *tracer) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	if n := len(rpc.GetPublish()); n > 0 {
		t.dropped.Add(uint64(n))
	} else {
		t.droppedControl.Add(1)
	}
	t.warn(p)
}

// UndeliverableMessage counts a message a slow local subscriber missed.
func (t *tracer) UndeliverableMessage(msg *pubsub.Message) {
	t.undeliverable.Add(1)
	t.warn(msg.ReceivedFrom)
}

// RejectMessage sorts a refused message into dropped (local overload),
// ignored (our validator said so) or rejected (invalid).
func (t *tracer) RejectMessage(msg *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectValidationQueueFull, pubsub.RejectValidationThrottled:
		t.dropped.Add(1)
	case pubsub.RejectValidationIgnored:
		t.ignored.Add(1)
		t.log.Debug("gossip message ignored", "peer", msg.ReceivedFrom.String(), "topic", msg.GetTopic())
		return
	default:
		t.rejected.Add(1)
		t.log.Debug("gossip message rejected", "peer", msg.ReceivedFrom.String(), "topic", msg.GetTopic(), "reason", reason)
	}
	t.warn(msg.ReceivedFrom)
}

// DuplicateMessage counts a copy of an already seen message; the neighbour
// that sent it is another way back to the origin (route.go).
func (t *tracer) DuplicateMessage(msg *pubsub.Message) {
	t.duplicates.Add(1)
	t.routes.learn(msg.GetFrom(), msg.ReceivedFrom, msg.GetSeqno(), false)
}

// DeliverMessage counts a validated message handed to local subscribers
// and records the neighbour it came from as a next hop toward its origin;
// the router reports only remote ones, first copies only, to raw tracers.
func (t *tracer) DeliverMessage(msg *pubsub.Message) {
	t.delivered.Add(1)
	t.routes.learn(msg.GetFrom(), msg.ReceivedFrom, msg.GetSeqno(), true)
}

// The remaining RawTracer events carry nothing Stats reports.

func (t *tracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (t *tracer) OnClosedOutboundStream(peer.ID)                       {}
func (t *tracer) Join(string)                                          {}
func (t *tracer) Leave(string)                                         {}
func (t *tracer) Graft(peer.ID, string)                                {}
func (t *tracer) Prune(peer.ID, string)                                {}
func (t *tracer) ValidateMessage(*pubsub.Message)                      {}
func (t *tracer) ThrottlePeer(peer.ID)                                 {}
func (t *tracer) RecvRPC(*pubsub.RPC)                                  {}
func (t *tracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (t *tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
