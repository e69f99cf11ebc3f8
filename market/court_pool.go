package market

import (
	"strings"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
)

// CourtPool returns the arbiters eligible for a dispute between the agents
// disputant and respondent ("@id"), in ascending agent-ID order: every agent
// the fold rates with a rating of at least cfg.MinRating, at least
// cfg.MinTransactions transactions and room to lose ledger.ArbiterStake above the
// rating floor, other than the parties (under their current keys).
//
// It is a pure function of the fold, the lineage and the thresholds, so
// every node holding the same receipts computes the same pool, and with the
// seed the same panel (§13.5). Unlike the original it does not depend on
// who is online or on how many panels an agent sits on: those are one
// node's view, and would make the panel impossible to check elsewhere. An
// arbiter who does not answer is replaced (§13.6).
func CourtPool(t *ledger.Table, lin *identity.Lineage, cfg CourtConfig, disputant, respondent string) []string {
	cfg = cfg.withDefaults()
	cur := func(id string) string { return "@" + lin.Current(strings.TrimPrefix(id, "@")) }
	d, r := cur(disputant), cur(respondent)
	var pool []string
	for _, a := range t.Ratings() { // sorted by ID
		switch {
		case a.Agent == d || a.Agent == r:
		case a.Rating.Rating < cfg.MinRating, a.Transactions < cfg.MinTransactions:
		case a.Rating.Rating-ledger.ArbiterStake < ledger.MinRating:
		default:
			pool = append(pool, a.Agent)
		}
	}
	return pool
}
