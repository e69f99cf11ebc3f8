package market

import (
	"encoding/json"

	"github.com/agentchat/mesh/protocol"
)

// vote is one entry of VERDICT's votes.
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

// Tally returns the verdict of a set of votes (§13.7): two or more for a
// side win it; anything else, including no votes, is mutual.
func Tally(votes []string) string {
	n := map[string]int{}
	for _, v := range votes {
		n[v]++
	}
	switch {
	case n[verdictDisp] >= 2:
		return verdictDisp
	case n[verdictResp] >= 2:
		return verdictResp
	}
	return verdictMutual
}

// resolve ends deliberation: seated arbiters who did not vote forfeit, the
// votes are tallied and everyone who ever held a seat hears the verdict.
func (m *Machine) resolve(k *courtCase, out *outbox) {
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
	k.Phase, k.Verdict, k.ResolvedAt, k.Deadline = phaseResolved, Tally(votes), now, 0
	vs, results := []voteView{}, []arbiterResult{}
	for _, s := range k.Slots {
		switch s.Status {
		case slotVoted:
			vs = append(vs, voteView{s.Arbiter, s.Verdict, s.Reasoning})
			reward := 0
			if s.Verdict == k.Verdict {
				reward = ArbiterReward
			}
			results = append(results, arbiterResult{s.Arbiter, &s.Verdict, &s.Reasoning, reward})
		case slotForfeited:
			results = append(results, arbiterResult{s.Arbiter, nil, nil, -ArbiterStake})
		}
	}
	vb, _ := json.Marshal(vs)
	rb, _ := json.Marshal(results)
	verdict := &protocol.Verdict{Type: protocol.TypeVerdict, TS: now, DisputeID: k.ID, ProposalID: k.ProposalID,
		Verdict: k.Verdict, Votes: vb, ArbiterResults: rb, ResolvedAt: now}
	out.toParties(k, verdict)
	for _, a := range k.arbiters() {
		out.add(a, verdict)
	}
	m.log.Info("dispute resolved", "dispute", k.ID, "verdict", k.Verdict)
}
