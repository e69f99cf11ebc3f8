package p2p

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

func TestSkipDirect(t *testing.T) {
	target, via := peer.ID("target"), peer.ID("via")
	now := time.Now()
	for _, tc := range []struct {
		name            string
		failedAgo       time.Duration // <0: never failed
		routed, skipped bool
	}{
		{"never failed", -1, true, false},
		{"failed, no route", time.Second, false, false},
		{"failed recently, routed", time.Second, true, true},
		{"failed long ago", directRetry + time.Second, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoutes()
			if tc.routed {
				r.learn(target, via)
			}
			if tc.failedAgo >= 0 {
				r.directFailed(target, now.Add(-tc.failedAgo))
			}
			require.Equal(t, tc.skipped, r.skipDirect(target, now))
		})
	}
}
