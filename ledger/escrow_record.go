package ledger

import (
	"context"
	"strconv"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// Escrow statuses and settlement reasons (PROTOCOL.md §12.3).
const (
	EscrowActive   = "active"
	EscrowReleased = "released"
	EscrowSettled  = "settled"

	ReasonCompleted = "completed"
	ReasonDisputed  = "disputed"
	ReasonExpired   = "expired"
	// ReasonRefused releases a stake reserved on the acceptor's node for an
	// ACCEPT that the proposal's node then refused.
	ReasonRefused = "refused"
)

// EscrowParty is one side of an escrow.
type EscrowParty struct {
	AgentID string `json:"agent_id"` // "@id"
	Stake   int64  `json:"stake"`
}

// EscrowRecord is the stakes held for one accepted proposal, in the shape
// of the original escrows.json entries.
type EscrowRecord struct {
	ProposalID       string      `json:"proposal_id"`
	CreatedAt        int64       `json:"created_at"` // ms
	From             EscrowParty `json:"from"`
	To               EscrowParty `json:"to"`
	Status           string      `json:"status"`
	ExpiresAt        *int64      `json:"expires_at"` // absolute ms of the proposal's expiry
	SettledAt        *int64      `json:"settled_at"`
	SettlementReason *string     `json:"settlement_reason"`
}

// EscrowPersister stores escrow records. SaveEscrow must be durable when it
// returns: Escrow writes ahead, before it changes its state or reports
// success (§12.3).
type EscrowPersister interface {
	SaveEscrow(ctx context.Context, rec EscrowRecord) error
	LoadEscrows(ctx context.Context) ([]EscrowRecord, error)
}

// EscrowConfig configures an Escrow.
type EscrowConfig struct {
	// Ratings returns an agent's current rating; nil means InitialRating
	// for everyone. It is called without Escrow's locks held.
	Ratings func(agent string) float64
	// Keys returns every key ("@id") of agent's identity, agent included
	// (its rotation lineage), so the stakes held by any of them count
	// against the one rating they share; nil means each key stands alone.
	// It is called without Escrow's locks held.
	Keys func(agent string) []string
	// Persister keeps records across restarts; nil keeps them in memory.
	Persister EscrowPersister
	// Hooks receives the §19 events; nil emits none.
	Hooks *Hooks
	// Now is the clock for created_at and event timestamps; nil is time.Now.
	Now func() time.Time
}

// InsufficientError refuses a stake larger than the agent's available
// rating. Its text is what agents see in INSUFFICIENT_REPUTATION errors.
type InsufficientError struct {
	// Party is "Proposer" or "Acceptor" when Reserve refused, "" from CanStake.
	Party     string
	Available float64
	Requested int64
}

// Error returns "[Party: ]Insufficient ELO. Available: A, Requested: R".
func (e *InsufficientError) Error() string {
	s := "Insufficient ELO. Available: " + protocol.FormatJSNumber(e.Available) +
		", Requested: " + strconv.FormatInt(e.Requested, 10)
	if e.Party != "" {
		s = e.Party + ": " + s
	}
	return s
}

// Unwrap returns ErrInsufficient.
func (e *InsufficientError) Unwrap() error { return ErrInsufficient }
