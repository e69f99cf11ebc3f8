package client

import "encoding/json"

// Client -> server frames as the client writes them (PROTOCOL.md §5).
// Optional fields are omitted when empty, as the original client leaves
// them undefined.

type identifyMsg struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Pubkey string `json:"pubkey,omitempty"`
}

type verifyIdentityMsg struct {
	Type        string  `json:"type"`
	ChallengeID string  `json:"challenge_id"`
	Signature   string  `json:"signature"`
	Timestamp   float64 `json:"timestamp"`
}

type typeMsg struct {
	Type string `json:"type"`
}

type channelMsg struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
}

type chatMsg struct {
	Type    string `json:"type"`
	To      string `json:"to"`
	Content string `json:"content"`
	// TS and Sig are set together when the client signs (§7.1 MSG row).
	TS  int64  `json:"ts,omitempty"`
	Sig string `json:"sig,omitempty"`
}

type fileChunkMsg struct {
	Type    string `json:"type"`
	To      string `json:"to"`
	Content string `json:"content"`
}

type presenceMsg struct {
	Type       string `json:"type"`
	Status     string `json:"status"`
	StatusText string `json:"status_text,omitempty"`
}

type nickMsg struct {
	Type string `json:"type"`
	Nick string `json:"nick"`
}

type proposalMsg struct {
	Type        string   `json:"type"`
	To          string   `json:"to"`
	Task        string   `json:"task"`
	Amount      *float64 `json:"amount,omitempty"`
	Currency    string   `json:"currency,omitempty"`
	PaymentCode string   `json:"payment_code,omitempty"`
	Terms       string   `json:"terms,omitempty"`
	Expires     *int64   `json:"expires,omitempty"`
	EloStake    *int64   `json:"elo_stake,omitempty"`
	Capability  string   `json:"capability,omitempty"`
	Sig         string   `json:"sig"`
}

type acceptMsg struct {
	Type        string `json:"type"`
	ProposalID  string `json:"proposal_id"`
	PaymentCode string `json:"payment_code,omitempty"`
	EloStake    *int64 `json:"elo_stake,omitempty"`
	Sig         string `json:"sig"`
}

type rejectMsg struct {
	Type       string `json:"type"`
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason,omitempty"`
	Sig        string `json:"sig"`
}

type completeMsg struct {
	Type       string `json:"type"`
	ProposalID string `json:"proposal_id"`
	Proof      string `json:"proof,omitempty"`
	Sig        string `json:"sig"`
}

type disputeMsg struct {
	Type       string `json:"type"`
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason"`
	Sig        string `json:"sig"`
}

type registerSkillsMsg struct {
	Type   string          `json:"type"`
	Skills json.RawMessage `json:"skills"` // exactly the bytes the signature hashes
	Sig    string          `json:"sig"`
}

type searchSkillsMsg struct {
	Type    string `json:"type"`
	Query   any    `json:"query"`
	QueryID string `json:"query_id"`
}

type verifyRequestMsg struct {
	Type   string `json:"type"`
	Target string `json:"target"`
	Nonce  string `json:"nonce"`
}

type verifyResponseMsg struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Nonce     string `json:"nonce"`
	Sig       string `json:"sig"`
}

type disputeIntentMsg struct {
	Type       string `json:"type"`
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason"`
	Commitment string `json:"commitment"`
	Sig        string `json:"sig"`
}

type disputeRevealMsg struct {
	Type       string `json:"type"`
	ProposalID string `json:"proposal_id"`
	Nonce      string `json:"nonce"`
	Sig        string `json:"sig"`
}

type evidenceMsg struct {
	Type      string          `json:"type"`
	DisputeID string          `json:"dispute_id"`
	Items     json.RawMessage `json:"items"` // exactly the bytes the signature hashes
	Statement string          `json:"statement"`
	Sig       string          `json:"sig"`
}

// arbiterMsg is ARBITER_ACCEPT, ARBITER_DECLINE or ARBITER_VOTE.
type arbiterMsg struct {
	Type      string  `json:"type"`
	DisputeID string  `json:"dispute_id"`
	Reason    string  `json:"reason,omitempty"`
	Verdict   string  `json:"verdict,omitempty"`
	Reasoning *string `json:"reasoning,omitempty"`
	Sig       string  `json:"sig"`
}
