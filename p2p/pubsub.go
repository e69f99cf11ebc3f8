package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// validatorTimeout bounds one validator call; a validator that overruns it
// counts as Ignore, so a stuck validator cannot pin the router's throttle.
const validatorTimeout = 10 * time.Second

// Verdict is a validator's decision on one gossip message.
type Verdict int

const (
	// Accept delivers the message locally and forwards it.
	Accept Verdict = iota
	// Reject drops the message and penalises the peer that forwarded it
	// (peer scoring, P4): use it for messages no honest node would relay,
	// such as a bad signature or a forged origin.
	Reject
	// Ignore drops the message without penalty (counted in Stats.Ignored):
	// use it for duplicates, stale or unknown-channel messages.
	Ignore
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Message is one gossip message delivered to a Subscription.
type Message struct {
	// From is the origin node's peer ID; the router verified its signature.
	From string
	// ReceivedFrom is the peer that forwarded the message to us (ours for a
	// Local message).
	ReceivedFrom string
	// Data is the payload as published.
	Data []byte
	// Seqno is the origin's sequence number; with From it identifies the
	// message.
	Seqno []byte
	// Local reports that this host published the message.
	Local bool
}

// Topic is a joined gossip topic. It stays valid until the Host closes.
type Topic struct {
	h     *Host
	name  string
	topic *pubsub.Topic

	mu   sync.Mutex // guards subs
	subs map[*Subscription]struct{}
}

// Subscription receives the messages of one Topic until cancelled.
type Subscription struct {
	t   *Topic
	sub *pubsub.Subscription
}

// Join joins the named topic with this package's score parameters, or
// returns the Topic already joined under that name.
func (h *Host) Join(topic string) (*Topic, error) {
	h.joinMu.Lock()
	defer h.joinMu.Unlock()
	h.mu.Lock()
	t, ok := h.topics[topic]
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if ok {
		return t, nil
	}
	pt, err := h.ps.Join(topic)
	if err != nil {
		return nil, fmt.Errorf("join topic %q: %w", topic, err)
	}
	if err := pt.SetScoreParams(topicScoreParams()); err != nil {
		_ = pt.Close()
		return nil, fmt.Errorf("join topic %q: score params: %w", topic, err)
	}
	t = &Topic{h: h, name: topic, topic: pt, subs: map[*Subscription]struct{}{}}
	h.mu.Lock()
	h.topics[topic] = t
	h.mu.Unlock()
	return t, nil
}

// SetValidator installs v as the validator of the named topic, replacing any
// earlier one. v receives the origin peer ID (signature already checked) and
// the payload; it runs concurrently for different messages, on local
// publishes too, and must return within 10s (after that the message is
// ignored).
func (h *Host) SetValidator(topic string, v func(ctx context.Context, from string, data []byte) Verdict) error {
	h.joinMu.Lock()
	defer h.joinMu.Unlock()
	h.mu.Lock()
	had, closed := h.validators[topic], h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if had {
		if err := h.ps.UnregisterTopicValidator(topic); err != nil {
			return fmt.Errorf("replace validator of %q: %w", topic, err)
		}
	}
	val := func(ctx context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		switch v(ctx, m.GetFrom().String(), m.GetData()) {
		case Accept:
			return pubsub.ValidationAccept
		case Reject:
			return pubsub.ValidationReject
		default:
			return pubsub.ValidationIgnore
		}
	}
	err := h.ps.RegisterTopicValidator(topic, val, pubsub.WithValidatorTimeout(validatorTimeout))
	h.mu.Lock()
	h.validators[topic] = err == nil
	h.mu.Unlock()
	if err != nil {
		return fmt.Errorf("set validator of %q: %w", topic, err)
	}
	return nil
}

// Name returns the topic's name.
func (t *Topic) Name() string { return t.name }

// Publish signs data with the node key and publishes it. It fails with
// ErrTooLarge above Config.MaxMessageSize. Publishing to a topic without
// peers succeeds: the message is simply not forwarded.
func (t *Topic) Publish(ctx context.Context, data []byte) error {
	if len(data) > t.h.cfg.MaxMessageSize {
		return fmt.Errorf("publish on %q: %w: %d bytes", t.name, ErrTooLarge, len(data))
	}
	if err := t.topic.Publish(ctx, data); err != nil {
		if errors.Is(err, pubsub.ErrTopicClosed) {
			err = ErrClosed
		}
		return fmt.Errorf("publish on %q: %w", t.name, err)
	}
	t.h.tracer.published.Add(1)
	return nil
}

// Subscribe starts receiving the topic's messages, buffering up to
// Config.QueueSize of them; beyond that the router drops messages for this
// subscription and counts them in Stats.Undeliverable.
func (t *Topic) Subscribe() (*Subscription, error) {
	ps, err := t.topic.Subscribe(pubsub.WithBufferSize(t.h.cfg.QueueSize))
	if err != nil {
		if errors.Is(err, pubsub.ErrTopicClosed) {
			err = ErrClosed
		}
		return nil, fmt.Errorf("subscribe to %q: %w", t.name, err)
	}
	s := &Subscription{t: t, sub: ps}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	return s, nil
}

// Peers returns the connected peers known to be subscribed to the topic.
func (t *Topic) Peers() []string {
	return peerStrings(t.topic.ListPeers())
}

// Leave cancels the topic's subscriptions, removes its validator and
// leaves it, so peers hear the unsubscription and the host keeps nothing
// of it; a later Join starts afresh. The Topic is unusable afterwards.
func (t *Topic) Leave() error {
	h := t.h
	h.joinMu.Lock()
	defer h.joinMu.Unlock()
	h.mu.Lock()
	if h.topics[t.name] != t || h.closed {
		h.mu.Unlock()
		return nil // left already, or Host.Close leaves it
	}
	delete(h.topics, t.name)
	hadValidator := h.validators[t.name]
	delete(h.validators, t.name)
	h.mu.Unlock()
	if err := t.close(); err != nil {
		return err
	}
	if hadValidator {
		if err := h.ps.UnregisterTopicValidator(t.name); err != nil {
			return fmt.Errorf("leave topic %q: %w", t.name, err)
		}
	}
	return nil
}

// close cancels the topic's subscriptions and leaves it. Host.Close calls it
// while the router still runs, so peers hear the unsubscription.
func (t *Topic) close() error {
	t.mu.Lock()
	subs := make([]*Subscription, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	for _, s := range subs {
		s.Cancel()
	}
	if err := t.topic.Close(); err != nil {
		return fmt.Errorf("close topic %q: %w", t.name, err)
	}
	return nil
}

// Next blocks until the next message, ctx's end, or the subscription's
// cancellation (ErrClosed).
func (s *Subscription) Next(ctx context.Context) (*Message, error) {
	m, err := s.sub.Next(ctx)
	if errors.Is(err, pubsub.ErrSubscriptionCancelled) || (err == nil && m == nil) {
		return nil, ErrClosed
	}
	if err != nil {
		return nil, err
	}
	return &Message{
		From:         m.GetFrom().String(),
		ReceivedFrom: m.ReceivedFrom.String(),
		Data:         m.GetData(),
		Seqno:        m.GetSeqno(),
		// pubsub's own Message.Local means "published with
		// WithLocalPublication", not "published here"; a message we
		// published is the one our own host handed us.
		Local: m.ReceivedFrom == s.t.h.host.ID(),
	}, nil
}

// Cancel stops the subscription; a pending or later Next returns ErrClosed.
// It is idempotent.
func (s *Subscription) Cancel() {
	s.t.mu.Lock()
	_, live := s.t.subs[s]
	delete(s.t.subs, s)
	s.t.mu.Unlock()
	if live {
		s.sub.Cancel()
	}
}
