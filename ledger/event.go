package ledger

// Escrow event names (PROTOCOL.md §19).
const (
	EventEscrowCreated        = "escrow:created"
	EventSettlementCompletion = "settlement:completion"
	EventSettlementDispute    = "settlement:dispute"
	EventEscrowReleased       = "escrow:released"
)

// eventNames lists the events Hooks.On accepts.
var eventNames = map[string]bool{
	EventEscrowCreated:        true,
	EventSettlementCompletion: true,
	EventSettlementDispute:    true,
	EventEscrowReleased:       true,
}

// StakePair is the {proposer, acceptor} object of settlement payloads.
type StakePair struct {
	Proposer int64 `json:"proposer"`
	Acceptor int64 `json:"acceptor"`
}

// Event is the payload of an escrow event, with the §19 field names. The
// fields after ToAgent are present only for the events noted; JSON omits
// the others.
type Event struct {
	Event      string `json:"event"`
	Timestamp  int64  `json:"timestamp"` // ms
	ProposalID string `json:"proposal_id"`
	FromAgent  string `json:"from_agent"`
	ToAgent    string `json:"to_agent"`

	// escrow:created.
	ProposerStake *int64   `json:"proposer_stake,omitempty"`
	AcceptorStake *int64   `json:"acceptor_stake,omitempty"`
	TotalStake    *int64   `json:"total_stake,omitempty"`
	Task          string   `json:"task,omitempty"`
	Amount        *float64 `json:"amount,omitempty"`
	Currency      string   `json:"currency,omitempty"`
	Expires       *int64   `json:"expires,omitempty"` // absolute ms
	EscrowID      string   `json:"escrow_id,omitempty"`

	// settlement:completion.
	CompletedBy     string     `json:"completed_by,omitempty"`
	CompletionProof string     `json:"completion_proof,omitempty"`
	StakesReturned  *StakePair `json:"stakes_returned,omitempty"`

	// settlement:dispute.
	DisputedBy    string `json:"disputed_by,omitempty"`
	DisputeReason string `json:"dispute_reason,omitempty"`

	// settlement:completion ("returned") and settlement:dispute (the
	// _escrow settlement, "transferred").
	Settlement string `json:"settlement,omitempty"`
	// RatingChanges holds both parties' changes (no _escrow), keyed by
	// "@id"; settlement events only. Empty when the completion changed no
	// rating (pair cooldown).
	RatingChanges map[string]Change `json:"rating_changes,omitempty"`

	// escrow:released.
	StakesReleased *StakePair `json:"stakes_released,omitempty"`
	Reason         string     `json:"reason,omitempty"`
}

func ptr[T any](v T) *T { return &v }
