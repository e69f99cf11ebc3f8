package ledger

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/agentchat/mesh/identity"
)

// Fold computes ratings from a set of receipts, which the caller has
// verified (Fold does not verify). It is a pure function of the set: the
// receipts are applied in canonical order — outcome.settled_at, then
// proposal ID — and every piece of history the rules need (transaction
// counts, pair counts, the pair cooldown) is derived from the receipts
// themselves, so any permutation of the same set gives a byte-identical
// Table.
//
// Duplicates: receipts are keyed by proposal ID. Identical copies count
// once. Of different receipts with the same ID (which a verified set only
// holds if a node equivocated; Store and VerifyBundle refuse them), the one
// whose canonical JSON sorts first is used, so the choice does not depend on
// arrival order either.
//
// Rules (PROTOCOL.md §12.1): see applyCompletion and applyDispute.
func Fold(receipts []Receipt) *Table { return FoldLineage(receipts, nil) }

// FoldLineage is Fold with the identity records of the mesh applied
// (identity.Lineage): each party is rated under its agent's current key, so
// a rotation carries the rating over (the receipt's rating_changes still
// name the parties by the IDs the receipt holds, as §12.1 keys them, and
// _escrow's transferred_to likewise), and a receipt counts for nothing
// (rating_changes null) when it was settled at or after the revocation of
// either party's key, or when both parties are keys of one agent. It is a
// pure function of the receipts and the lineage's records; a nil lineage is
// Fold.
func FoldLineage(receipts []Receipt, lin *identity.Lineage) *Table {
	ordered := canonicalOrder(receipts)
	t := newTable(len(ordered))
	f := folder{t: t, pairs: make(map[pairKey]*pairState), lin: lin, keys: make(map[string]string)}
	for _, r := range ordered {
		f.apply(r)
	}
	return t
}

// canonicalOrder de-duplicates receipts by proposal ID and sorts pointers
// to them by (settled_at, proposal ID). The input is not modified.
func canonicalOrder(receipts []Receipt) []*Receipt {
	byID := make(map[string]int, len(receipts))
	out := make([]*Receipt, 0, len(receipts))
	for i := range receipts {
		r := &receipts[i]
		j, seen := byID[r.ID()]
		if !seen {
			byID[r.ID()] = len(out)
			out = append(out, r)
			continue
		}
		if bytes.Compare(r.CanonicalJSON(), out[j].CanonicalJSON()) < 0 {
			out[j] = r
		}
	}
	slices.SortFunc(out, func(a, b *Receipt) int {
		if c := cmp.Compare(a.Outcome.SettledAt, b.Outcome.SettledAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID(), b.ID())
	})
	return out
}

// pairKey names an unordered pair of agents: a < b.
type pairKey struct{ a, b string }

func makePairKey(x, y string) pairKey {
	if y < x {
		x, y = y, x
	}
	return pairKey{x, y}
}

// pairState is the anti-sybil history of one pair: how many completions
// changed ratings, and when the last of them settled.
type pairState struct {
	count       int
	lastSettled int64
}

// folder is the state of one Fold run.
type folder struct {
	t     *Table
	pairs map[pairKey]*pairState
	lin   *identity.Lineage
	keys  map[string]string // PEM text → the key's bytes ("" if it does not parse)
}

// sameKey reports whether two PEM texts hold one Ed25519 key, so that one
// key under two spellings (two IDs) is one agent. A PEM that does not
// parse (Fold does not verify) is no one's key. Each text is parsed once
// per fold.
func (f *folder) sameKey(a, b string) bool {
	ka, kb := f.key(a), f.key(b)
	return ka != "" && ka == kb
}

// key returns the key a PEM text holds as a string, "" if it does not
// parse.
func (f *folder) key(pem string) string {
	k, ok := f.keys[pem]
	if !ok {
		if pub, err := identity.ParsePublicPEM(pem); err == nil {
			k = string(pub)
		}
		f.keys[pem] = k
	}
	return k
}

func (f *folder) apply(r *Receipt) {
	var c *RatingChanges
	unrated := UnratedCooldown // the only reason a rated pair's receipt changes nothing
	if from, to, why := f.parties(r); why == "" {
		switch r.Outcome.Kind {
		case KindComplete:
			c = f.applyCompletion(r, from, to)
		case KindDispute:
			c = f.applyDispute(r, from, to)
		case KindVerdict:
			c = f.applyVerdict(r, from, to)
		}
	} else {
		unrated = why
	}
	if c != nil {
		// rating_changes names the parties as the receipt does (§12.1),
		// although they are rated under their current keys.
		c.From.Agent, c.To.Agent = partyID(r.Proposal.From), partyID(r.Proposal.To)
	}
	// Settled counts every receipt, rated or not, under the parties'
	// current keys, as the rating is.
	f.t.record(r.ID(), f.current(r.Proposal.From), f.current(r.Proposal.To), c, unrated)
}

// partyID is a receipt's party as "@id".
func partyID(id string) string { return "@" + strings.TrimPrefix(id, "@") }

// current is the "@id" an "@id" is rated under: its agent's current key.
func (f *folder) current(id string) string {
	return "@" + f.lin.Current(strings.TrimPrefix(id, "@"))
}

// parties returns the "@id"s the receipt's proposer and recipient are
// rated under (their current keys), or why the receipt must not count: a
// party's key was revoked when it settled (UnratedRevoked), or both are one
// agent (UnratedSameAgent): one key, whatever PEM text each ID hashes, or
// keys of one rotation chain.
func (f *folder) parties(r *Receipt) (from, to, unrated string) {
	p := &r.Proposal
	for _, id := range []string{p.From, p.To} {
		if at, revoked := f.lin.Revoked(strings.TrimPrefix(id, "@")); revoked && r.Outcome.SettledAt >= at {
			return "", "", UnratedRevoked
		}
	}
	from, to = f.current(p.From), f.current(p.To)
	if from == to || f.sameKey(r.FromPubkey, r.ToPubkey) {
		return "", "", UnratedSameAgent
	}
	return from, to, ""
}

// applyCompletion: both parties gain. With the pair key of the two IDs:
//
//   - if the pair's previous rated completion settled less than
//     PairCooldownMS earlier, nothing changes (rating_changes null, no
//     transaction counted) and the completion does not count for the pair
//     either — exactly as the original server, which throws before its
//     bookkeeping;
//   - otherwise pairCount = rated completions of the pair including this
//     one, and each party's change is
//     max(1, round(CompletionGain(own, other, own K, amount)/2 × 1/pairCount)).
//
// Escrowed stakes are simply no longer reserved (settlement "returned"); the
// _escrow member is present when either stake is positive, as it is only
// when an escrow existed.
func (f *folder) applyCompletion(r *Receipt, from, to string) *RatingChanges {
	settled := r.Outcome.SettledAt
	key := makePairKey(from, to)
	ps := f.pairs[key]
	if ps == nil {
		ps = &pairState{}
		f.pairs[key] = ps
	} else if ps.count > 0 && settled-ps.lastSettled < PairCooldownMS {
		return nil
	}
	ps.count++
	ps.lastSettled = settled

	amount := amountOf(r.Proposal.Amount)
	a, b := f.t.agent(from), f.t.agent(to)
	ga := CompletionGain(a.Rating, b.Rating, KFactor(a.Transactions), amount)
	gb := CompletionGain(b.Rating, a.Rating, KFactor(b.Transactions), amount)
	c := &RatingChanges{
		From: f.t.update(from, completionChange(ga, ps.count), settled),
		To:   f.t.update(to, completionChange(gb, ps.count), settled),
	}
	if sp, sa := r.ProposerStake(), r.AcceptorStake(); sp > 0 || sa > 0 {
		c.Escrow = &EscrowSettlement{ProposerStake: sp, AcceptorStake: sa, Settlement: SettlementReturned}
	}
	return c
}

// applyDispute: a legacy DISPUTE, always with disputed_by = outcome.by. The
// other party is at fault:
//
//	loss       = DisputeLoss(r_fault, r_other, K_fault, amount)
//	fault     += loss − stake_fault
//	disputer  += round(|loss| × 0.5) + stake_fault
//
// The stakes are the receipt's (proposal elo_stake = proposer's, accept
// elo_stake = acceptor's); the loser's stake is transferred to the winner.
func (f *folder) applyDispute(r *Receipt, from, to string) *RatingChanges {
	p := &r.Proposal
	settled := r.Outcome.SettledAt
	winner, fault, faultStake, winnerID := from, to, r.AcceptorStake(), p.From
	if r.Outcome.By == p.To {
		winner, fault, faultStake, winnerID = to, from, r.ProposerStake(), p.To
	}
	fr, wr := f.t.agent(fault), f.t.agent(winner)
	loss := DisputeLoss(fr.Rating, wr.Rating, KFactor(fr.Transactions), amountOf(p.Amount))
	fromChange, toChange := winnerChange(loss, faultStake), loss-float64(faultStake)
	if winner == to {
		fromChange, toChange = toChange, fromChange
	}
	return &RatingChanges{
		From: f.t.update(from, fromChange, settled),
		To:   f.t.update(to, toChange, settled),
		Escrow: &EscrowSettlement{
			ProposerStake:     r.ProposerStake(),
			AcceptorStake:     r.AcceptorStake(),
			Settlement:        SettlementTransferred,
			TransferredTo:     partyID(winnerID),
			TransferredAmount: faultStake,
		},
	}
}

// amountOf is proposal.amount or 0 (JS `amount || 0`).
func amountOf(a *float64) float64 {
	if a == nil {
		return 0
	}
	return *a
}
