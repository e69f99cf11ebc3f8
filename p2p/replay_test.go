package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// TestReplayQuotaPerOrigin: an origin that fills its quota has its own
// requests refused, and another origin's are still admitted.
func TestReplayQuotaPerOrigin(t *testing.T) {
	var g replayGuard
	now := time.Now()
	key := func(origin peer.ID, i int) routeKey {
		k := routeKey{origin: origin}
		k.id[0], k.id[1] = byte(i), byte(i>>8)
		return k
	}
	for i := range maxReplayPerOrigin {
		_, fresh, err := g.admit(key("greedy", i), now.UnixNano(), now)
		require.NoError(t, err)
		require.True(t, fresh)
	}
	_, _, err := g.admit(key("greedy", maxReplayPerOrigin), now.UnixNano(), now)
	require.ErrorContains(t, err, "too many routed requests from")
	_, fresh, err := g.admit(key("other", 0), now.UnixNano(), now)
	require.NoError(t, err, "another origin is not crowded out")
	require.True(t, fresh)
}

// TestReplayRepeats: a repeat waits for the first attempt's answer and
// gets it while the origin waits; after that it is refused.
func TestReplayRepeats(t *testing.T) {
	var g replayGuard
	now := time.Now()
	k := routeKey{origin: "o", id: [16]byte{1}}
	first, fresh, err := g.admit(k, now.UnixNano(), now)
	require.NoError(t, err)
	require.True(t, fresh)

	repeat, fresh, err := g.admit(k, now.UnixNano(), now)
	require.NoError(t, err)
	require.False(t, fresh)
	require.Same(t, first, repeat)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = g.wait(ctx, repeat)
	require.ErrorIs(t, err, errReplayed, "a repeat whose budget ends before the first answer")

	got := make(chan []byte, 1)
	go func() {
		reply, err := g.wait(context.Background(), repeat)
		if err != nil {
			reply = []byte(err.Error())
		}
		got <- reply
	}()
	g.finish(k, first, []byte("answer"), time.Now().Add(time.Minute))
	require.Equal(t, "answer", string(<-got), "a repeat waiting for the first answer")
	reply, err := g.wait(t.Context(), repeat)
	require.NoError(t, err)
	require.Equal(t, "answer", string(reply))

	k2 := routeKey{origin: "o", id: [16]byte{2}}
	a, _, err := g.admit(k2, now.UnixNano(), now)
	require.NoError(t, err)
	g.finish(k2, a, []byte("answer"), time.Now().Add(-time.Second))
	_, err = g.wait(t.Context(), a)
	require.ErrorIs(t, err, errReplayed, "a repeat after the origin stopped waiting")
}
