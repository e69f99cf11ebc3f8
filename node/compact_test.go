package node

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// The node compacts once a crowd of at least compactEvery connections has
// arrived (or parked) and that pauses, and not again until another crowd
// arrives.
func TestCompactAfterCrowdArrives(t *testing.T) {
	s := &Server{conns: map[*conn]struct{}{}, log: slog.New(slog.DiscardHandler)}
	grow := func(n int) {
		for range n {
			s.conns[&conn{}] = struct{}{}
		}
	}
	var k compactor
	grow(compactEvery - 1)
	s.maybeCompact(&k)
	s.maybeCompact(&k)
	require.Zero(t, k.base, "fewer than compactEvery arrivals: no compaction")

	grow(1)
	s.maybeCompact(&k)
	require.Zero(t, k.base, "still arriving: wait")
	s.maybeCompact(&k)
	require.EqualValues(t, compactEvery, k.base, "arrivals paused: compacted")

	grow(10)
	s.maybeCompact(&k)
	s.maybeCompact(&k)
	require.EqualValues(t, compactEvery, k.base, "a few more: no new compaction")

	s.parks.Add(compactEvery)
	s.maybeCompact(&k)
	s.maybeCompact(&k)
	require.EqualValues(t, 2*compactEvery+10, k.base, "a crowd parked: compacted")

	for c := range s.conns {
		delete(s.conns, c)
	}
	s.maybeCompact(&k)
	require.EqualValues(t, compactEvery, k.base, "the baseline follows departures down (parks stay counted)")
}
