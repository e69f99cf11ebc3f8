package bridge

import (
	"testing"
	"time"
)

// A silent node is kept within its TTL, refetched while still connected
// (up to three TTLs), and dropped otherwise.
func TestExpiryDecision(t *testing.T) {
	const ttl = 5 * time.Second
	for _, tc := range []struct {
		silent    time.Duration
		connected bool
		want      expiryAction
	}{
		{0, false, keep},
		{ttl, false, keep},
		{ttl + time.Millisecond, false, drop},
		{ttl + time.Millisecond, true, refetch},
		{3 * ttl, true, refetch},
		{3*ttl + time.Millisecond, true, drop},
	} {
		if got := expiry(tc.silent, ttl, tc.connected); got != tc.want {
			t.Errorf("expiry(%v, connected=%v) = %v, want %v", tc.silent, tc.connected, got, tc.want)
		}
	}
}
