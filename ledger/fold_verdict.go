package ledger

import "math"

// applyVerdict: an agentcourt verdict (PROTOCOL.md §13.7), with K fixed at
// 16 and no amount weighting. With eD = E(r_disputant, r_respondent) and
// eR = 1 − eD:
//
//	disputant:  respondent −max(1, round(16·eR)), disputant +max(1, round(that·0.5))
//	respondent: disputant −max(1, round(16·eD)), respondent +max(1, round(that·0.5))
//	mutual:     each −max(1, round(16·e_self))
//
// then each arbiter who voted with the verdict +ArbiterReward, who voted
// against it 0, who forfeited its seat −ArbiterStake (declined seats are not
// rated). Every listed agent counts a transaction, change 0 included, as
// the original does. Held stakes are returned, as for a completion.
func (f *folder) applyVerdict(r *Receipt, from, to string) *RatingChanges {
	c := r.Outcome.Court
	settled := r.Outcome.SettledAt
	disp, resp := from, to
	if r.Outcome.By == r.Proposal.To {
		disp, resp = to, from
	}
	eD := Expected(f.t.agent(disp).Rating, f.t.agent(resp).Rating)
	eR := 1 - eD
	var dChange, rChange float64
	switch c.Verdict {
	case VerdictDisputant:
		rChange = -math.Max(1, math.Round(courtK*eR))
		dChange = math.Max(1, math.Round(-rChange*0.5))
	case VerdictRespondent:
		dChange = -math.Max(1, math.Round(courtK*eD))
		rChange = math.Max(1, math.Round(-dChange*0.5))
	default:
		dChange = -math.Max(1, math.Round(courtK*eD))
		rChange = -math.Max(1, math.Round(courtK*eR))
	}
	dc, rc := f.t.update(disp, dChange, settled), f.t.update(resp, rChange, settled)
	out := &RatingChanges{From: dc, To: rc}
	if disp != from {
		out.From, out.To = rc, dc
	}
	for _, s := range c.Seats {
		var change float64
		switch {
		case s.Status == SeatForfeited:
			change = -ArbiterStake
		case s.Status == SeatVoted && s.Verdict == c.Verdict:
			change = ArbiterReward
		case s.Status != SeatVoted:
			continue
		}
		out.Arbiters = append(out.Arbiters, f.t.update(f.current(s.Arbiter), change, settled))
	}
	if sp, sa := r.ProposerStake(), r.AcceptorStake(); sp > 0 || sa > 0 {
		out.Escrow = &EscrowSettlement{ProposerStake: sp, AcceptorStake: sa, Settlement: SettlementReturned}
	}
	return out
}
