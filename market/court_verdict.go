package market

import (
	"context"
	"encoding/json"

	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

// voteView is one entry of VERDICT's votes.
type voteView struct {
	Arbiter   string `json:"arbiter"`
	Verdict   string `json:"verdict"`
	Reasoning string `json:"reasoning"`
}

// arbiterResult is one entry of VERDICT's arbiter_results.
type arbiterResult struct {
	Arbiter   string  `json:"arbiter"`
	Verdict   *string `json:"verdict"`
	Reasoning *string `json:"reasoning"`
	Reward    int     `json:"reward"`
}

// resolve ends deliberation: seated arbiters who did not vote forfeit, the
// votes are tallied, and the verdict settles the proposal into a receipt
// carrying the signed case (ledger.Court), whose fold is the rating
// changes. Everyone who ever held a seat hears VERDICT and
// SETTLEMENT_COMPLETE. If the receipt cannot be stored k is left as it was
// (the caller does not commit it) and the next tick tries again.
func (m *Machine) resolve(ctx context.Context, k *courtCase, out *outbox) *protocol.Error {
	now := m.now()
	var votes []string
	for _, s := range k.Slots {
		switch s.Status {
		case slotAccepted:
			s.Status = slotForfeited
		case slotVoted:
			votes = append(votes, s.Verdict)
		}
	}
	k.Phase, k.Verdict, k.ResolvedAt, k.Deadline = phaseResolved, ledger.Tally(votes), now, 0
	m.settleMu.Lock()
	_, changes, perr := m.issue(ctx, k.Proposal, k.Accept, m.verdictOutcome(k), k.FromPub, k.ToPub)
	m.settleMu.Unlock()
	if perr != nil {
		return perr
	}
	vs, results := []voteView{}, []arbiterResult{}
	for _, s := range k.Slots {
		switch s.Status {
		case slotVoted:
			vs = append(vs, voteView{s.Arbiter, s.Verdict, s.Reasoning})
			reward := 0
			if s.Verdict == k.Verdict {
				reward = ledger.ArbiterReward
			}
			results = append(results, arbiterResult{s.Arbiter, &s.Verdict, &s.Reasoning, reward})
		case slotForfeited:
			results = append(results, arbiterResult{s.Arbiter, nil, nil, -ledger.ArbiterStake})
		}
	}
	vb, _ := json.Marshal(vs)
	rb, _ := json.Marshal(results)
	rc, _ := json.Marshal(changes)
	frames := []any{
		&protocol.Verdict{Type: protocol.TypeVerdict, TS: now, DisputeID: k.ID, ProposalID: k.ProposalID,
			Verdict: k.Verdict, Votes: vb, ArbiterResults: rb, ResolvedAt: now},
		&protocol.SettlementComplete{Type: protocol.TypeSettlementComplete, TS: now, DisputeID: k.ID,
			ProposalID: k.ProposalID, Verdict: k.Verdict, RatingChanges: rc},
	}
	for _, f := range frames {
		out.toParties(k, f)
		for _, a := range k.arbiters() {
			out.add(a, f)
		}
	}
	m.log.Info("dispute resolved", "dispute", k.ID, "verdict", k.Verdict)
	return nil
}

// verdictOutcome is the receipt outcome of a resolved case.
func (m *Machine) verdictOutcome(k *courtCase) ledger.Outcome {
	c := &ledger.Court{DisputeID: k.ID, Commitment: k.Commitment, Nonce: k.Nonce, RevealSig: k.RevealSig,
		ServerNonce: k.ServerNonce, Pool: k.Pool, Verdict: k.Verdict}
	for _, s := range k.Slots {
		seat := ledger.Seat{Arbiter: s.Arbiter, Status: s.Status}
		switch s.Status {
		case slotVoted:
			seat.Status, seat.Pubkey, seat.Verdict, seat.Reasoning, seat.Sig = ledger.SeatVoted, s.Pubkey, s.Verdict, s.Reasoning, s.Sig
		case slotDeclined:
			seat.Status = ledger.SeatDeclined
		default:
			seat.Status = ledger.SeatForfeited
		}
		c.Seats = append(c.Seats, seat)
	}
	return ledger.Outcome{Kind: ledger.KindVerdict, By: k.Disputant, Reason: k.Reason, Sig: k.IntentSig,
		SettledAt: max(k.ResolvedAt, k.Accept.AcceptedAt), Court: c}
}
