package market

import (
	"time"

	"github.com/agentchat/mesh/ledger"
)

// CourtConfig holds agentcourt's timers and thresholds (PROTOCOL.md §13.1).
// A zero field means its §13.1 default, so the zero value is the original's
// court.
type CourtConfig struct {
	// Reveal is how long a disputant has to reveal its nonce.
	Reveal time.Duration
	// Response is how long an arbiter has to accept or decline a seat.
	Response time.Duration
	// Evidence is the evidence period once the panel has accepted; it ends
	// early when both parties have submitted.
	Evidence time.Duration
	// Vote is the deliberation period; it ends early when every seated
	// arbiter has voted.
	Vote time.Duration
	// MinRating and MinTransactions make an agent eligible as an arbiter.
	MinRating       float64
	MinTransactions int
}

// The §13.1 constants.
const (
	PanelSize           = ledger.CourtPanelSize
	MaxReplacements     = 2
	MaxEvidenceItems    = 10
	MaxStatementChars   = 2000
	MaxReasoningChars   = 500
	DefaultReveal       = 10 * time.Minute
	DefaultResponse     = 30 * time.Minute
	DefaultEvidence     = time.Hour
	DefaultVote         = time.Hour
	DefaultArbiterMin   = 1200
	DefaultArbiterMinTx = 10
)

// withDefaults fills the zero fields.
func (c CourtConfig) withDefaults() CourtConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Reveal, DefaultReveal)
	def(&c.Response, DefaultResponse)
	def(&c.Evidence, DefaultEvidence)
	def(&c.Vote, DefaultVote)
	if c.MinRating <= 0 {
		c.MinRating = DefaultArbiterMin
	}
	if c.MinTransactions <= 0 {
		c.MinTransactions = DefaultArbiterMinTx
	}
	return c
}
