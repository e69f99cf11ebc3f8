package ledger

import (
	"strconv"

	"github.com/agentchat/mesh/protocol"
)

// Settlement kinds of EscrowSettlement (PROTOCOL.md §12.1).
const (
	SettlementReturned    = "returned"
	SettlementTransferred = "transferred"
)

// Why a receipt changed no rating (Table.Reason, Rating.Unrated).
const (
	// UnratedCooldown: a completion within PairCooldownMS of the pair's
	// last rated one (PROTOCOL.md §12.1 step 1, anti-farming).
	UnratedCooldown = "pair_cooldown"
	// UnratedRevoked: settled at or after the revocation of a party's key.
	UnratedRevoked = "revoked_key"
	// UnratedSameAgent: both parties are one agent (one key under two IDs,
	// or keys of one rotation chain), which would be an agent rating itself.
	UnratedSameAgent = "same_agent"
)

// Change is one agent's entry of rating_changes. Change is the computed
// delta; NewRating reflects the floor, so the two disagree at MinRating.
type Change struct {
	OldRating    float64 `json:"oldRating"`
	NewRating    float64 `json:"newRating"`
	Change       float64 `json:"change"`
	Transactions int     `json:"transactions"`
}

// AgentChange is a Change with the agent ("@id") it belongs to.
type AgentChange struct {
	Agent string
	Change
}

// EscrowSettlement is the _escrow member of rating_changes: what happened
// to the stakes.
type EscrowSettlement struct {
	ProposerStake int64  `json:"proposer_stake"`
	AcceptorStake int64  `json:"acceptor_stake"`
	Settlement    string `json:"settlement"`
	// TransferredTo and TransferredAmount are set for "transferred".
	TransferredTo     string `json:"transferred_to,omitempty"`
	TransferredAmount int64  `json:"transferred_amount,omitempty"`
}

// RatingChanges is what one receipt did to ratings: the rating_changes
// object of COMPLETE and DISPUTE frames.
type RatingChanges struct {
	// From and To are the proposer's and the recipient's changes.
	From AgentChange
	To   AgentChange
	// Arbiters are the changes of a verdict's arbiters who voted or
	// forfeited, in seat order; nil for the other kinds.
	Arbiters []AgentChange
	// Escrow is present for a dispute, and for a completion or verdict
	// when a stake was held.
	Escrow *EscrowSettlement
}

// Parties returns the two changes keyed by "@id", the shape §19 events
// carry (without _escrow).
func (c *RatingChanges) Parties() map[string]Change {
	if c == nil {
		return nil
	}
	return map[string]Change{c.From.Agent: c.From.Change, c.To.Agent: c.To.Change}
}

// For returns the change of agent ("@id"), if it is a party or one of a
// verdict's arbiters.
func (c *RatingChanges) For(agent string) (Change, bool) {
	switch {
	case c == nil:
		return Change{}, false
	case agent == c.From.Agent:
		return c.From.Change, true
	case agent == c.To.Agent:
		return c.To.Change, true
	}
	for _, a := range c.Arbiters {
		if a.Agent == agent {
			return a.Change, true
		}
	}
	return Change{}, false
}

// MarshalJSON writes {"<@from>":{…},"<@to>":{…},"<@arbiter>":{…}…,
// "_escrow":{…}} in that order, as the original server builds it, with JS number formatting; a nil
// RatingChanges is null.
func (c *RatingChanges) MarshalJSON() ([]byte, error) {
	return c.appendJSON(nil), nil
}

func (c *RatingChanges) appendJSON(b []byte) []byte {
	if c == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	b = protocol.AppendJSString(b, c.From.Agent)
	b = append(b, ':')
	b = c.From.appendJSON(b)
	b = append(b, ',')
	b = protocol.AppendJSString(b, c.To.Agent)
	b = append(b, ':')
	b = c.To.appendJSON(b)
	for _, a := range c.Arbiters {
		b = append(b, ',')
		b = protocol.AppendJSString(b, a.Agent)
		b = append(b, ':')
		b = a.appendJSON(b)
	}
	if c.Escrow != nil {
		b = append(b, `,"_escrow":`...)
		b = c.Escrow.appendJSON(b)
	}
	return append(b, '}')
}

// MarshalJSON writes the _escrow object as the original server does:
// transferred_to and transferred_amount only for "transferred".
func (e *EscrowSettlement) MarshalJSON() ([]byte, error) {
	return e.appendJSON(nil), nil
}

func (e *EscrowSettlement) appendJSON(b []byte) []byte {
	b = append(b, `{"proposer_stake":`...)
	b = strconv.AppendInt(b, e.ProposerStake, 10)
	b = append(b, `,"acceptor_stake":`...)
	b = strconv.AppendInt(b, e.AcceptorStake, 10)
	b = append(b, `,"settlement":`...)
	b = protocol.AppendJSString(b, e.Settlement)
	if e.Settlement == SettlementTransferred {
		b = append(b, `,"transferred_to":`...)
		b = protocol.AppendJSString(b, e.TransferredTo)
		b = append(b, `,"transferred_amount":`...)
		b = strconv.AppendInt(b, e.TransferredAmount, 10)
	}
	return append(b, '}')
}

func (c *Change) appendJSON(b []byte) []byte {
	b = append(b, `{"oldRating":`...)
	b = append(b, protocol.FormatJSNumber(c.OldRating)...)
	b = append(b, `,"newRating":`...)
	b = append(b, protocol.FormatJSNumber(c.NewRating)...)
	b = append(b, `,"change":`...)
	b = append(b, protocol.FormatJSNumber(c.Change)...)
	b = append(b, `,"transactions":`...)
	b = strconv.AppendInt(b, int64(c.Transactions), 10)
	return append(b, '}')
}
