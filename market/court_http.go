package market

import (
	"net/http"
)

// caseStatus is GET /disputes/<id>: what anyone may know of a case. The
// evidence stays with the parties and the panel; the votes are shown once
// the case is resolved (its receipt carries them anyway).
type caseStatus struct {
	DisputeID      string       `json:"dispute_id"`
	ProposalID     string       `json:"proposal_id"`
	Phase          string       `json:"phase"`
	Disputant      string       `json:"disputant"`
	Respondent     string       `json:"respondent"`
	Reason         string       `json:"reason"`
	FiledAt        int64        `json:"filed_at"`
	Deadline       int64        `json:"deadline,omitempty"`
	Seed           string       `json:"seed,omitempty"`
	ServerNonce    string       `json:"server_nonce"`
	PoolSize       int          `json:"pool_size"`
	Seats          []seatStatus `json:"seats"`
	Replacements   int          `json:"replacements"`
	Evidence       []string     `json:"evidence_from"`
	Verdict        string       `json:"verdict,omitempty"`
	FallbackReason string       `json:"fallback_reason,omitempty"`
	ResolvedAt     int64        `json:"resolved_at,omitempty"`
}

type seatStatus struct {
	Arbiter  string `json:"arbiter"`
	Status   string `json:"status"`
	Deadline int64  `json:"deadline,omitempty"`
	Verdict  string `json:"verdict,omitempty"`
}

func (m *Machine) serveDispute(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m.mu.Lock()
	k, node := m.cases[id], m.routes[id]
	var st caseStatus
	if k != nil {
		st = statusOf(k)
	}
	m.mu.Unlock()
	switch {
	case k != nil:
		writeJSON(w, http.StatusOK, st)
	case node != "":
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "dispute is held by another node", "node": node})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "dispute not found"})
	}
}

// statusOf is a case's public view. Caller holds m.mu.
func statusOf(k *courtCase) caseStatus {
	st := caseStatus{DisputeID: k.ID, ProposalID: k.ProposalID, Phase: k.Phase, Disputant: k.Disputant,
		Respondent: k.Respondent, Reason: k.Reason, FiledAt: k.FiledAt, Deadline: k.Deadline, Seed: k.Seed,
		ServerNonce: k.ServerNonce, PoolSize: len(k.Pool), Seats: []seatStatus{}, Replacements: k.Replacements,
		Evidence: []string{}, Verdict: k.Verdict, FallbackReason: k.FallbackCause, ResolvedAt: k.ResolvedAt}
	for _, s := range k.Slots {
		seat := seatStatus{Arbiter: s.Arbiter, Status: s.Status}
		if s.Status == slotPending {
			seat.Deadline = s.Deadline
		}
		if k.Phase == phaseResolved {
			seat.Verdict = s.Verdict
		}
		st.Seats = append(st.Seats, seat)
	}
	for _, p := range []string{k.Disputant, k.Respondent} {
		if k.Evidence[p] != nil {
			st.Evidence = append(st.Evidence, p)
		}
	}
	return st
}
