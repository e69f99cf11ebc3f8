package protocol

import "encoding/json"

// Marketplace and agentcourt frames (§6, §11–§13).

// ProposalFrame delivers a proposal to its recipient and echoes it to the
// proposer.
type ProposalFrame struct {
	Type        string   `json:"type"`
	TS          int64    `json:"ts"`
	ID          string   `json:"id"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Task        string   `json:"task"`
	Amount      *float64 `json:"amount"`
	Currency    *string  `json:"currency"`
	PaymentCode *string  `json:"payment_code"`
	Terms       *string  `json:"terms"`
	Expires     *int64   `json:"expires"`
	Status      string   `json:"status"`
	CreatedAt   int64    `json:"created_at"`
	Sig         string   `json:"sig"`
	EloStake    *int64   `json:"elo_stake"`
}

// AcceptFrame reports an accepted proposal.
type AcceptFrame struct {
	Type          string  `json:"type"`
	TS            int64   `json:"ts"`
	ProposalID    string  `json:"proposal_id"`
	Status        string  `json:"status"`
	UpdatedAt     int64   `json:"updated_at"`
	From          string  `json:"from"`
	To            string  `json:"to"`
	PaymentCode   *string `json:"payment_code"`
	Sig           string  `json:"sig"`
	ProposerStake *int64  `json:"proposer_stake"`
	AcceptorStake *int64  `json:"acceptor_stake"`
}

// RejectFrame reports a rejected proposal.
type RejectFrame struct {
	Type       string  `json:"type"`
	TS         int64   `json:"ts"`
	ProposalID string  `json:"proposal_id"`
	Status     string  `json:"status"`
	UpdatedAt  int64   `json:"updated_at"`
	From       string  `json:"from"`
	To         string  `json:"to"`
	Reason     *string `json:"reason"`
	Sig        string  `json:"sig"`
}

// EloStakes is the stakes pair of COMPLETE and DISPUTE frames.
type EloStakes struct {
	Proposer int64 `json:"proposer"`
	Acceptor int64 `json:"acceptor"`
}

// RatingChange is one agent's entry of rating_changes.
type RatingChange struct {
	OldRating    float64 `json:"oldRating"`
	NewRating    float64 `json:"newRating"`
	Change       float64 `json:"change"`
	Transactions int     `json:"transactions,omitempty"`
}

// CompleteFrame reports a completed proposal.
type CompleteFrame struct {
	Type          string          `json:"type"`
	TS            int64           `json:"ts"`
	ProposalID    string          `json:"proposal_id"`
	Status        string          `json:"status"`
	UpdatedAt     int64           `json:"updated_at"`
	From          string          `json:"from"`
	To            string          `json:"to"`
	CompletedBy   string          `json:"completed_by"`
	CompletedAt   int64           `json:"completed_at"`
	Proof         *string         `json:"proof"`
	Sig           string          `json:"sig"`
	EloStakes     EloStakes       `json:"elo_stakes"`
	RatingChanges json.RawMessage `json:"rating_changes"`
}

// DisputeFrame reports a disputed proposal (legacy dispute).
type DisputeFrame struct {
	Type          string          `json:"type"`
	TS            int64           `json:"ts"`
	ProposalID    string          `json:"proposal_id"`
	Status        string          `json:"status"`
	UpdatedAt     int64           `json:"updated_at"`
	From          string          `json:"from"`
	To            string          `json:"to"`
	DisputedBy    string          `json:"disputed_by"`
	DisputedAt    int64           `json:"disputed_at"`
	Reason        string          `json:"reason"`
	Sig           string          `json:"sig"`
	EloStakes     EloStakes       `json:"elo_stakes"`
	RatingChanges json.RawMessage `json:"rating_changes"`
}

// DisputeIntentAck confirms DISPUTE_INTENT (§13.2).
type DisputeIntentAck struct {
	Type        string `json:"type"`
	TS          int64  `json:"ts"`
	DisputeID   string `json:"dispute_id"`
	ProposalID  string `json:"proposal_id"`
	ServerNonce string `json:"server_nonce"`
}

// DisputeRevealed confirms DISPUTE_REVEAL (§13.3).
type DisputeRevealed struct {
	Type      string `json:"type"`
	TS        int64  `json:"ts"`
	DisputeID string `json:"dispute_id"`
	PanelSize int    `json:"panel_size"`
	Seed      string `json:"seed"`
}

// DisputeFallback reports that a panel could not be formed (§13).
type DisputeFallback struct {
	Type       string `json:"type"`
	TS         int64  `json:"ts"`
	DisputeID  string `json:"dispute_id"`
	Reason     string `json:"reason"`
	ProposalID string `json:"proposal_id,omitempty"`
}

// PanelFormed names the arbiters to the parties (§13.3).
type PanelFormed struct {
	Type             string   `json:"type"`
	TS               int64    `json:"ts"`
	DisputeID        string   `json:"dispute_id"`
	ProposalID       string   `json:"proposal_id"`
	Arbiters         []string `json:"arbiters"`
	Disputant        string   `json:"disputant"`
	Respondent       string   `json:"respondent"`
	EvidenceDeadline *int64   `json:"evidence_deadline"`
	VoteDeadline     *int64   `json:"vote_deadline"`
	Seed             string   `json:"seed"`
	ServerNonce      string   `json:"server_nonce"`
}

// ArbiterAssigned offers an arbiter a seat (§13.3, §13.6).
type ArbiterAssigned struct {
	Type             string `json:"type"`
	TS               int64  `json:"ts"`
	DisputeID        string `json:"dispute_id"`
	ProposalID       string `json:"proposal_id"`
	Disputant        string `json:"disputant"`
	Respondent       string `json:"respondent"`
	Reason           string `json:"reason"`
	ResponseDeadline int64  `json:"response_deadline"`
	IsReplacement    bool   `json:"is_replacement,omitempty"`
}

// EvidenceReceived acknowledges evidence to the parties and arbiters.
type EvidenceReceived struct {
	Type       string `json:"type"`
	TS         int64  `json:"ts"`
	DisputeID  string `json:"dispute_id"`
	From       string `json:"from"`
	ItemsCount int    `json:"items_count"`
}

// CaseReady hands the case to the arbiters (§13.7).
type CaseReady struct {
	Type               string          `json:"type"`
	TS                 int64           `json:"ts"`
	DisputeID          string          `json:"dispute_id"`
	Proposal           json.RawMessage `json:"proposal"`
	Disputant          string          `json:"disputant"`
	DisputantEvidence  json.RawMessage `json:"disputant_evidence"`
	Respondent         string          `json:"respondent"`
	RespondentEvidence json.RawMessage `json:"respondent_evidence"`
	VoteDeadline       int64           `json:"vote_deadline"`
}

// Verdict announces the panel's decision (§13.7).
type Verdict struct {
	Type           string          `json:"type"`
	TS             int64           `json:"ts"`
	DisputeID      string          `json:"dispute_id"`
	ProposalID     string          `json:"proposal_id"`
	Verdict        string          `json:"verdict"`
	Votes          json.RawMessage `json:"votes"`
	ArbiterResults json.RawMessage `json:"arbiter_results"`
	ResolvedAt     int64           `json:"resolved_at"`
}

// SettlementComplete reports the rating changes of a verdict (§13.7).
type SettlementComplete struct {
	Type          string          `json:"type"`
	TS            int64           `json:"ts"`
	DisputeID     string          `json:"dispute_id"`
	ProposalID    string          `json:"proposal_id"`
	Verdict       string          `json:"verdict"`
	RatingChanges json.RawMessage `json:"rating_changes"`
}
