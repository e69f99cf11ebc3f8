package ledger

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKFactor(t *testing.T) {
	cases := []struct {
		tx   int
		want float64
	}{{0, 32}, {29, 32}, {30, 24}, {99, 24}, {100, 16}, {10_000, 16}}
	for _, tc := range cases {
		require.Equal(t, tc.want, KFactor(tc.tx), "tx=%d", tc.tx)
	}
}

func TestEloFormulas(t *testing.T) {
	cases := []struct {
		name              string
		self, opp, k, amt float64
		gain, loss        float64
	}{
		// §12.2: equal ratings, E = 0.5.
		{"equal, amount 0", 1200, 1200, 32, 0, 16, -16},
		{"equal, K 24", 1200, 1200, 24, 0, 12, -12},
		{"equal, K 16", 1200, 1200, 16, 0, 8, -8},
		// amount 100: effK = 32 × min(1+log10(101), 3) = 96.
		{"equal, amount 100", 1200, 1200, 32, 100, 48, -48},
		// amount 9: effK = 32 × (1+log10(10)) = 64.
		{"equal, amount 9", 1200, 1200, 32, 9, 32, -32},
		{"negative amount is ignored", 1200, 1200, 32, -5, 16, -16},
		// 1200 vs 1400: E = 1/(1+10^0.5) = 0.2403; 32×0.7597 = 24.3; 32×0.2403 = 7.7.
		{"underdog", 1200, 1400, 32, 0, 24, -8},
		{"favourite", 1400, 1200, 32, 0, 8, -24},
		// A near-certain outcome still moves at least one point.
		{"minimum one point", 3000, 100, 32, 0, 1, -32},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.gain, CompletionGain(tc.self, tc.opp, tc.k, tc.amt))
			require.Equal(t, tc.loss, DisputeLoss(tc.self, tc.opp, tc.k, tc.amt))
		})
	}
	require.InDelta(t, 0.5, Expected(1500, 1500), 0)
	require.InDelta(t, 1/(1+math.Sqrt(10)), Expected(1200, 1400), 1e-15)
	require.Equal(t, 96.0, EffectiveK(32, 100))
	require.Equal(t, 32.0, EffectiveK(32, 0))
}

func TestCompletionChange(t *testing.T) {
	cases := []struct {
		full float64
		n    int
		want float64
	}{{16, 1, 8}, {16, 2, 4}, {16, 3, 3}, {16, 4, 2}, {16, 5, 2}, {16, 6, 1}, {16, 100, 1}, {48, 1, 24}, {24, 1, 12}, {8, 1, 4}, {1, 1, 1}}
	for _, tc := range cases {
		require.Equal(t, tc.want, completionChange(tc.full, tc.n), "full=%v n=%d", tc.full, tc.n)
	}
}
