package p2p

import (
	"strconv"
	"testing"
	"time"

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

func TestRoutesBounded(t *testing.T) {
	r := newRoutes()
	for i := range maxRoutes + 10 {
		r.learn(peer.ID(strconv.Itoa(i)), "via")
	}
	require.LessOrEqual(t, len(r.next), maxRoutes)
	_, ok := r.via(peer.ID(strconv.Itoa(maxRoutes + 9)))
	require.True(t, ok, "the newest route is kept")
}
