package p2p

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLineDelivery: in a line A-B-C, a message A publishes reaches C once,
// relayed by B, and names A as its origin.
func TestLineDelivery(t *testing.T) {
	hs := line(t, 3)
	a, b, c := hs[0], hs[1], hs[2]
	ts, ss := join(t, hs, "agentchat/1/chan/general")
	waitTopicPeers(t, hs, ts)
	atC := collect(t, ss[2])
	warm(t, ts[0], atC)

	require.NoError(t, ts[0].Publish(t.Context(), []byte("hello")))
	require.NoError(t, ts[0].Publish(t.Context(), []byte("sentinel")))
	// Gossip does not order messages: wait for both.
	require.Eventually(t, func() bool { return len(atC.find("sentinel")) == 1 && len(atC.find("hello")) > 0 },
		10*time.Second, 10*time.Millisecond)

	got := atC.find("hello")
	require.Len(t, got, 1, "delivered exactly once")
	m := got[0]
	require.Equal(t, a.ID(), m.From)
	require.Equal(t, b.ID(), m.ReceivedFrom)
	require.False(t, m.Local)
	require.NotEmpty(t, m.Seqno)
	require.NotContains(t, c.Peers(), a.ID(), "C must hear A only through B")

	// The publisher's own subscription sees its message as local.
	m, err := nextWith(t, ss[0], "hello")
	require.NoError(t, err)
	require.True(t, m.Local)
	require.Equal(t, a.ID(), m.From)

	require.NotZero(t, a.Stats().Published)
	require.NotZero(t, c.Stats().Delivered)
}

// nextWith reads s until a message with data arrives.
func nextWith(t *testing.T, s *Subscription, data string) (*Message, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		m, err := s.Next(ctx)
		if err != nil || string(m.Data) == data {
			return m, err
		}
	}
}

func TestJoinIdempotent(t *testing.T) {
	h := newHost(t)
	t1, err := h.Join("x")
	require.NoError(t, err)
	t2, err := h.Join("x")
	require.NoError(t, err)
	require.Same(t, t1, t2)
	require.Equal(t, "x", t1.Name())
}

func TestPublishTooLarge(t *testing.T) {
	h := newHost(t, func(c *Config) { c.MaxMessageSize = 1024 })
	tp, err := h.Join("x")
	require.NoError(t, err)
	require.ErrorIs(t, tp.Publish(t.Context(), make([]byte, 1025)), ErrTooLarge)
}

func TestSubscriptionCancel(t *testing.T) {
	h := newHost(t)
	tp, err := h.Join("x")
	require.NoError(t, err)
	s, err := tp.Subscribe()
	require.NoError(t, err)
	s.Cancel()
	s.Cancel()
	_, err = s.Next(t.Context())
	require.ErrorIs(t, err, ErrClosed)
}

// TestValidatorVerdicts: a validator sees the origin and decides; Ignore and
// Reject are counted, Accept is delivered.
func TestValidatorVerdicts(t *testing.T) {
	hs := line(t, 2)
	a, b := hs[0], hs[1]
	seen := make(chan string, 16)
	require.NoError(t, b.SetValidator("v", func(_ context.Context, from string, data []byte) Verdict {
		select {
		case seen <- from:
		default:
		}
		switch string(data) {
		case "ignore":
			return Ignore
		case "reject":
			return Reject
		}
		return Accept
	}))
	ts, ss := join(t, hs, "v")
	waitTopicPeers(t, hs, ts)
	atB := collect(t, ss[1])
	for _, d := range []string{"ignore", "reject", "ok"} {
		require.NoError(t, ts[0].Publish(t.Context(), []byte(d)))
	}
	require.Eventually(t, func() bool { return len(atB.find("ok")) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Empty(t, atB.find("ignore"))
	require.Empty(t, atB.find("reject"))
	require.Equal(t, a.ID(), <-seen)
	st := b.Stats()
	require.EqualValues(t, 1, st.Ignored, "%+v", st)
	require.EqualValues(t, 1, st.Rejected, "%+v", st)
}

// TestRejectLowersScore: messages B's validator rejects push A's score on B
// below zero.
func TestRejectLowersScore(t *testing.T) {
	hs := line(t, 2)
	a, b := hs[0], hs[1]
	const topic = "agentchat/1/chan/scored"
	require.NoError(t, b.SetValidator(topic, func(context.Context, string, []byte) Verdict { return Reject }))
	ts, _ := join(t, hs, topic)
	waitTopicPeers(t, hs, ts)

	for i := range 3 {
		require.NoError(t, ts[0].Publish(t.Context(), fmt.Appendf(nil, "bad %d", i)))
	}
	require.Eventually(t, func() bool { return b.PeerScore(a.ID()) < 0 },
		10*time.Second, 20*time.Millisecond, "score stayed %v", b.PeerScore(a.ID()))
	require.GreaterOrEqual(t, b.Stats().Rejected, uint64(1))
	require.GreaterOrEqual(t, a.PeerScore(b.ID()), 0.0, "the honest side is not penalised")
	require.Zero(t, b.PeerScore("not-a-peer"))
}

// TestLeave: a left topic is unsubscribed (its peers see it go), its
// subscription ends, and joining it again starts afresh, validator
// included.
func TestLeave(t *testing.T) {
	hs := line(t, 2)
	b := hs[1]
	require.NoError(t, b.SetValidator("l", func(context.Context, string, []byte) Verdict { return Accept }))
	ts, ss := join(t, hs, "l")
	waitTopicPeers(t, hs, ts)
	require.NoError(t, ts[1].Leave())
	require.NoError(t, ts[1].Leave()) // idempotent
	_, err := ss[1].Next(t.Context())
	require.ErrorIs(t, err, ErrClosed)
	require.Eventually(t, func() bool { return !slices.Contains(ts[0].Peers(), b.ID()) }, 10*time.Second, 20*time.Millisecond)

	require.NoError(t, b.SetValidator("l", func(context.Context, string, []byte) Verdict { return Reject }))
	again, err := b.Join("l")
	require.NoError(t, err)
	require.NotSame(t, ts[1], again)
	s, err := again.Subscribe()
	require.NoError(t, err)
	t.Cleanup(s.Cancel)
	require.Eventually(t, func() bool { return slices.Contains(ts[0].Peers(), b.ID()) }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, ts[0].Publish(t.Context(), []byte("x")))
	require.Eventually(t, func() bool { return b.Stats().Rejected == 1 }, 10*time.Second, 10*time.Millisecond)
}
