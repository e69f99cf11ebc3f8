package ledger

import "math"

// The constants of PROTOCOL.md §12.1.
const (
	// InitialRating is every agent's rating before its first receipt.
	InitialRating = 1200
	// MinRating is the floor no update goes below.
	MinRating = 100
	// PairCooldownMS is how long after a rated completion of a pair another
	// completion of the same pair leaves ratings alone.
	PairCooldownMS = 3_600_000
)

// KFactor returns the K-factor for an agent with tx transactions: 32 below
// 30, 24 below 100, else 16.
func KFactor(tx int) float64 {
	switch {
	case tx < 30:
		return 32
	case tx < 100:
		return 24
	}
	return 16
}

// EffectiveK weights k by the task amount: k×min(1+log10(amount+1), 3) for
// a positive amount, k otherwise.
func EffectiveK(k, amount float64) float64 {
	if !(amount > 0) {
		return k
	}
	return k * math.Min(1+math.Log10(amount+1), 3)
}

// Expected returns the ELO expectation 1/(1+10^((opp−self)/400)).
func Expected(self, opp float64) float64 {
	return 1 / (1 + math.Pow(10, (opp-self)/400))
}

// CompletionGain returns max(1, round(effK×(1−E(self,opp)))), the full
// completion gain before halving and the pair factor.
func CompletionGain(self, opp, k, amount float64) float64 {
	return math.Max(1, math.Round(EffectiveK(k, amount)*(1-Expected(self, opp))))
}

// DisputeLoss returns −max(1, round(effK×E(self,opp))), the at-fault
// party's loss before its stake.
func DisputeLoss(self, opp, k, amount float64) float64 {
	return -math.Max(1, math.Round(EffectiveK(k, amount)*Expected(self, opp)))
}

// completionChange halves a full gain and applies the pair factor 1/n:
// max(1, round(full/2 × 1/pairCount)). All rounded values here are ≥ 0, so
// math.Round matches JS Math.round (PROTOCOL.md §12.1).
func completionChange(full float64, pairCount int) float64 {
	return math.Max(1, math.Round(full/2*(1/float64(pairCount))))
}

// winnerChange is the disputer's change: round(|loss|×0.5) + the loser's stake.
func winnerChange(loss float64, loserStake int64) float64 {
	return math.Round(math.Abs(loss)*0.5) + float64(loserStake)
}

// applyChange returns the rating after a change, floored at MinRating.
func applyChange(rating, change float64) float64 {
	return math.Max(MinRating, rating+change)
}
