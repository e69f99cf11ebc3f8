package market

import (
	"cmp"
	"slices"

	"github.com/agentchat/mesh/ledger"
)

// RecentReceipts returns up to n of the receipts the node holds, the
// latest settled first (ties by proposal ID), for the operator page.
func (m *Machine) RecentReceipts(n int) []ledger.Receipt {
	m.mu.Lock()
	rs := slices.Clone(m.receipts)
	m.mu.Unlock()
	slices.SortFunc(rs, func(a, b ledger.Receipt) int {
		return cmp.Or(cmp.Compare(b.Outcome.SettledAt, a.Outcome.SettledAt), cmp.Compare(a.ID(), b.ID()))
	})
	return rs[:min(n, len(rs))]
}

// TopRatings returns up to n agents with receipts, highest rating first
// (ties by agent ID).
func (m *Machine) TopRatings(n int) []ledger.AgentRating {
	rs := m.Table().Ratings()
	slices.SortStableFunc(rs, func(a, b ledger.AgentRating) int { return cmp.Compare(b.Rating.Rating, a.Rating.Rating) })
	return rs[:min(n, len(rs))]
}
