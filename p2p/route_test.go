package p2p

import (
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

func TestRecentlyFailed(t *testing.T) {
	target := peer.ID("target")
	now := time.Now()
	for _, tc := range []struct {
		name      string
		failedAgo time.Duration // <0: never failed
		want      bool
	}{
		{"never failed", -1, false},
		{"failed just now", 0, true},
		{"failed within the retry period", directRetry - time.Second, true},
		{"failed before it", directRetry + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoutes()
			if tc.failedAgo >= 0 {
				r.directFailed(target, now.Add(-tc.failedAgo))
			}
			require.Equal(t, tc.want, r.recentlyFailed(target, now))
		})
	}
}

// seqno is a gossipsub sequence number as the router writes it.
func seqno(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// TestRoutesBounded: a full table forgets the least recently used origin,
// not every origin.
func TestRoutesBounded(t *testing.T) {
	r := newRoutes()
	origin := func(i int) peer.ID { return peer.ID("origin" + strconv.Itoa(i)) }
	for i := range maxRoutes {
		r.learn(origin(i), "via", seqno(1), true)
	}
	require.NotEmpty(t, r.via(origin(0)), "used: now the most recent")
	r.learn(origin(maxRoutes), "via", seqno(1), true)
	require.Equal(t, maxRoutes, r.next.Len())
	require.Empty(t, r.via(origin(1)), "the least recently used origin is forgotten")
	for _, i := range []int{0, 2, maxRoutes - 1, maxRoutes} {
		require.Equal(t, []peer.ID{"via"}, r.via(origin(i)), "origin %d is kept", i)
	}
}

// TestRouteCandidates: the neighbour that delivers an origin's newest
// message first leads, copies of that message add candidates behind it,
// and nothing older than the newest moves them.
func TestRouteCandidates(t *testing.T) {
	r := newRoutes()
	const o = peer.ID("origin")
	r.learn(o, "dup", seqno(5), false)
	require.Empty(t, r.via(o), "a copy of a message never delivered teaches nothing")
	r.learn(o, "b", seqno(5), true)
	r.learn(o, "c", seqno(5), false)
	r.learn(o, "c", seqno(5), false)
	r.learn(o, "late", seqno(4), false)
	r.learn(o, "replayer", seqno(3), true)
	require.Equal(t, []peer.ID{"b", "c"}, r.via(o))
	r.learn(o, "d", seqno(5), false)
	r.learn(o, "e", seqno(5), false)
	require.Equal(t, []peer.ID{"b", "c", "d"}, r.via(o), "at most maxCandidates")
	r.learn(o, "c", seqno(6), true)
	require.Equal(t, []peer.ID{"c", "b", "d"}, r.via(o), "the newest first delivery leads")
	r.learn(o, "f", seqno(7), true)
	require.Equal(t, []peer.ID{"f", "c", "b"}, r.via(o))
	r.learn(o, "g", []byte{1, 2}, true)
	require.Equal(t, []peer.ID{"f", "c", "b"}, r.via(o), "a malformed sequence number teaches nothing")
}

// TestReplayedGossipDoesNotMoveRoute: a neighbour that replays an origin's
// old message (delivered again once the router's seen cache forgot it) is
// not made the next hop toward the origin.
func TestReplayedGossipDoesNotMoveRoute(t *testing.T) {
	a, honest, replayer := newHost(t), newHost(t), newHost(t)
	connect(t, a, honest)
	connect(t, a, replayer)
	_, originKey := newKey(t)
	origin := peerOf(t, originKey)
	deliver := func(via *Host, seq uint64) {
		a.tracer.DeliverMessage(&pubsub.Message{
			Message:      &pb.Message{From: []byte(origin), Seqno: seqno(seq)},
			ReceivedFrom: via.host.ID(),
		})
	}
	deliver(honest, 10)
	deliver(replayer, 9) // the origin's earlier message, replayed
	next, ok := a.nextHop(origin, "")
	require.True(t, ok)
	require.Equal(t, honest.host.ID(), next)
}
