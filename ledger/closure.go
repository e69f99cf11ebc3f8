package ledger

import (
	"slices"
	"strings"

	"github.com/agentchat/mesh/identity"
)

// DependsOn returns the IDs (sorted) of the receipts that agent's ("@id")
// rating depends on in FoldLineage(receipts, lin): the agent's own
// receipts, under any of its keys, and every receipt that moved a
// counterparty's rating or transaction count before that counterparty met
// the agent — transitively, since ELO and the K-factor depend on the
// opponent's standing. Folding exactly these receipts gives the agent the
// rating the full fold gives it, so a bundle of them verifies offline to the
// rating the mesh shows.
//
// It walks the canonical order backwards: a receipt matters if either party
// already matters (as of a later receipt), and then both parties matter for
// everything before it.
func DependsOn(receipts []Receipt, agent string, lin *identity.Lineage) []string {
	cur := func(id string) string { return lin.Current(strings.TrimPrefix(id, "@")) }
	relevant := map[string]bool{cur(agent): true}
	ordered := canonicalOrder(receipts)
	var ids []string
	for i := len(ordered) - 1; i >= 0; i-- {
		r := ordered[i]
		from, to := cur(r.Proposal.From), cur(r.Proposal.To)
		if relevant[from] || relevant[to] {
			relevant[from], relevant[to] = true, true
			ids = append(ids, r.ID())
		}
	}
	slices.Sort(ids)
	return ids
}
