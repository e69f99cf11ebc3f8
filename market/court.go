package market

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/agentchat/mesh/ledger"
)

// Agentcourt (PROTOCOL.md §13): a party of an accepted proposal files a
// dispute with a commitment, reveals the nonce, and a panel drawn from the
// mesh's eligible agents by the seed hears evidence and votes. A case lives
// on the node that holds its proposal, in the datastore, so it survives a
// restart; every transition is written before anyone is told of it.

// Case phases (§13.1).
const (
	phaseReveal     = "reveal_pending"
	phaseResponse   = "arbiter_response"
	phaseEvidence   = "evidence"
	phaseVote       = "deliberation"
	phaseResolved   = "resolved"
	phaseFallback   = "fallback"
	slotPending     = "pending"
	slotAccepted    = "accepted"
	slotDeclined    = "declined"
	slotVoted       = "voted"
	slotForfeited   = "forfeited"
	casesKeyPrefix  = "/court"
	courtIDPrefix   = "disp_"
	serverNonceSize = 16
)

var casesPrefix = datastore.NewKey(casesKeyPrefix)

// courtCase is one agentcourt dispute. Guarded by Machine.mu; written to
// the datastore (putCase) after every transition.
type courtCase struct {
	ID            string `json:"id"`
	ProposalID    string `json:"proposal_id"`
	Disputant     string `json:"disputant"`  // "@id"
	Respondent    string `json:"respondent"` // "@id"
	Reason        string `json:"reason"`
	Commitment    string `json:"commitment"`
	IntentSig     string `json:"intent_sig"`
	ServerNonce   string `json:"server_nonce"`
	Nonce         string `json:"nonce,omitempty"`
	RevealSig     string `json:"reveal_sig,omitempty"`
	Seed          string `json:"seed,omitempty"`
	Phase         string `json:"phase"`
	FiledAt       int64  `json:"filed_at"`
	RevealedAt    int64  `json:"revealed_at,omitempty"`
	ResolvedAt    int64  `json:"resolved_at,omitempty"`
	Deadline      int64  `json:"deadline"` // ms: the end of the current phase
	Replacements  int    `json:"replacements"`
	Verdict       string `json:"verdict,omitempty"`
	FallbackCause string `json:"fallback_reason,omitempty"`
	// The proposal's signed pieces, copied at filing: proposals live in
	// memory, a case must be able to settle after a restart.
	Proposal ledger.Proposal `json:"proposal"`
	Accept   ledger.Accept   `json:"accept"`
	FromPub  string          `json:"from_pubkey"`
	ToPub    string          `json:"to_pubkey"`
	// Pool is the eligible arbiters at reveal, in agent-ID order; Order is
	// Pool shuffled by Seed (§13.5): the panel is its first PanelSize
	// members, replacements are drawn from the rest in order.
	Pool     []string             `json:"pool,omitempty"`
	Order    []string             `json:"order,omitempty"`
	Slots    []*slot              `json:"slots,omitempty"`
	Evidence map[string]*evidence `json:"evidence,omitempty"` // by party "@id"
}

// slot is one arbiter's seat.
type slot struct {
	Arbiter   string `json:"arbiter"` // "@id"
	Status    string `json:"status"`
	Deadline  int64  `json:"deadline"` // ms: answer by then (pending)
	Pubkey    string `json:"pubkey,omitempty"`
	Verdict   string `json:"verdict,omitempty"`
	Reasoning string `json:"reasoning,omitempty"`
	Sig       string `json:"sig,omitempty"`
}

// evidence is one party's submission (§13.7); Items carry their hashes.
type evidence struct {
	Items     json.RawMessage `json:"items"`
	Statement string          `json:"statement"`
	Sig       string          `json:"sig"`
}

// open reports whether the case is still moving.
func (k *courtCase) open() bool { return k.Phase != phaseResolved && k.Phase != phaseFallback }

// party reports whether agent ("@id") is the disputant or the respondent.
func (k *courtCase) party(agent string) bool { return agent == k.Disputant || agent == k.Respondent }

// slotOf returns agent's seat in the given statuses, nil if none.
func (k *courtCase) slotOf(agent string, statuses ...string) *slot {
	for _, s := range k.Slots {
		if s.Arbiter != agent {
			continue
		}
		for _, st := range statuses {
			if s.Status == st {
				return s
			}
		}
	}
	return nil
}

// count returns how many seats have one of the statuses.
func (k *courtCase) count(statuses ...string) int {
	n := 0
	for _, s := range k.Slots {
		for _, st := range statuses {
			if s.Status == st {
				n++
			}
		}
	}
	return n
}

// arbiters lists every seat's arbiter, in seat order.
func (k *courtCase) arbiters() []string {
	out := make([]string, len(k.Slots))
	for i, s := range k.Slots {
		out[i] = s.Arbiter
	}
	return out
}

func newDisputeID(ms int64) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return courtIDPrefix + strconv.FormatInt(ms, 36) + "_" + hex.EncodeToString(b[:])
}

func newServerNonce() string {
	var b [serverNonceSize]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// putCase writes a case durably.
func (m *Machine) putCase(ctx context.Context, k *courtCase) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	key := casesPrefix.ChildString(k.ID)
	if err := m.cfg.Datastore.Put(ctx, key, b); err != nil {
		return fmt.Errorf("store case %s: %w", k.ID, err)
	}
	return m.cfg.Datastore.Sync(ctx, key)
}

// loadCases reads every stored case.
func loadCases(ctx context.Context, ds datastore.Datastore) (map[string]*courtCase, error) {
	res, err := ds.Query(ctx, query.Query{Prefix: casesPrefix.String()})
	if err != nil {
		return nil, fmt.Errorf("load cases: %w", err)
	}
	defer res.Close()
	out := map[string]*courtCase{}
	for e := range res.Next() {
		if e.Error != nil {
			return nil, fmt.Errorf("load cases: %w", e.Error)
		}
		var k courtCase
		if err := json.Unmarshal(e.Value, &k); err != nil {
			return nil, fmt.Errorf("load case %s: %w", e.Key, err)
		}
		out[k.ID] = &k
	}
	return out, nil
}
