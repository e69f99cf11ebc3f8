package market

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/protocol"
)

// fuzzAgent is a keyed caller of the fuzzed machine.
type fuzzAgent struct {
	Caller
	priv ed25519.PrivateKey
}

func newFuzzAgent(seed byte) fuzzAgent {
	var s [ed25519.SeedSize]byte
	for i := range s {
		s[i] = seed + byte(i)
	}
	priv := ed25519.NewKeyFromSeed(s[:])
	pem := identity.EncodePublicPEM(priv.Public().(ed25519.PublicKey))
	return fuzzAgent{Caller{ID: identity.AgentID(pem), Name: fmt.Sprint("a", seed), Pubkey: pem, Verified: true}, priv}
}

func (a fuzzAgent) sign(s string) string { return identity.Sign(a.priv, s) }

// nullCourier takes every frame; every agent is reachable.
type nullCourier struct{}

func (nullCourier) Send(string, any) bool            { return true }
func (nullCourier) Notify(string, any) bool          { return true }
func (nullCourier) Reply(any)                        {}
func (nullCourier) Forward(string) ([][]byte, error) { return nil, fmt.Errorf("no mesh") }

var fuzzAgents = func() []fuzzAgent {
	var out []fuzzAgent
	for i := range 7 { // alice, bob, four arbiters, a stranger
		out = append(out, newFuzzAgent(byte(1+i*40)))
	}
	return out
}()

// fuzzCourt is a machine with four eligible arbiters and an accepted
// proposal from alice to bob on which bob has filed; clock is its time.
func fuzzCourt(t testing.TB) (m *Machine, dispute, nonce string, clock *time.Time) {
	ctx := context.Background()
	ds := dssync.MutexWrap(datastore.NewMapDatastore())
	key := newFuzzAgent(250).priv
	st, err := ledger.OpenStore(ctx, ledger.StoreConfig{Datastore: ds, NodeKey: key})
	require.NoError(t, err)
	now := time.UnixMilli(1_700_000_000_000)
	clock = &now
	m, err = New(ctx, Config{NodeKey: key, Store: st, Datastore: ds, Court: CourtConfig{MinTransactions: 1},
		Now: func() time.Time { return *clock }})
	require.NoError(t, err)
	trade := func(a, b fuzzAgent, complete bool) string {
		var c nullCourier
		to := "@" + b.ID
		require.Nil(t, m.Handle(ctx, a.Caller, &protocol.Proposal{To: to, Task: "t",
			Sig: a.sign(protocol.ProposalSigningString(to, "t", nil, "", "", nil, nil))}, c))
		var id string
		for pid, p := range m.proposals {
			if p.signed.From == "@"+a.ID && p.status == protocol.StatusPending {
				id = pid
			}
		}
		require.Nil(t, m.Handle(ctx, b.Caller, &protocol.Accept{ProposalID: id, Sig: b.sign(protocol.AcceptSigningString(id, "", nil))}, c))
		if complete {
			require.Nil(t, m.Handle(ctx, a.Caller, &protocol.Complete{ProposalID: id, Sig: a.sign(protocol.CompleteSigningString(id, ""))}, c))
		}
		*clock = clock.Add(time.Second)
		return id
	}
	g := fuzzAgents
	trade(g[2], g[3], true)
	trade(g[4], g[5], true)
	id := trade(g[0], g[1], false)
	nonce = "00112233445566778899aabbccddeeff"
	c := protocol.Commitment(nonce)
	require.Nil(t, m.Handle(ctx, g[1].Caller, &protocol.DisputeIntent{ProposalID: id, Reason: "r", Commitment: c,
		Sig: g[1].sign(protocol.DisputeIntentSigningString(id, "r", c))}, nullCourier{}))
	return m, m.caseOf[id], nonce, clock
}

var phaseRank = map[string]int{phaseReveal: 0, phaseResponse: 1, phaseEvidence: 2, phaseVote: 3, phaseResolved: 4, phaseFallback: 4}

// FuzzCourtCase drives one case with any sequence of signed operations by
// the parties, the arbiters and a stranger, and clock jumps. Whatever the
// order: nothing panics, a refusal carries a §13/§17 code, the phase only
// moves forward, the stored case is the one in memory, and a resolved case
// has a receipt that verifies and names the case.
func FuzzCourtCase(f *testing.F) {
	for _, seed := range courtSeeds {
		f.Add(seed.ops)
	}
	f.Fuzz(func(t *testing.T, ops []byte) { runCourtOps(t, ops) })
}

// courtSeeds are whole cases, and the phase each ends in.
var courtSeeds = []struct {
	name  string
	ops   []byte
	phase string
}{
	{"verdict", []byte{1, 0, 0, 2, 1, 0, 3, 1, 0, 4, 1, 0, 5, 1, 0, 0, 4, 0, 1, 4, 0, 2, 6, 0, 3, 6, 0, 4, 6, 0, 5, 6, 1}, phaseResolved},
	{"decline then timeouts", []byte{1, 0, 0, 2, 3, 0, 3, 3, 0, 0, 7, 40, 0, 7, 40}, phaseFallback},
	{"forfeited votes", []byte{1, 0, 0, 2, 1, 0, 3, 1, 0, 4, 1, 0, 5, 1, 0, 0, 7, 61, 0, 7, 61}, phaseResolved},
	{"reveal timeout", []byte{0, 7, 20, 1, 0, 0}, phaseFallback},
}

// The seeds end where they should, so the fuzzer starts from whole cases.
func TestCourtCaseSeeds(t *testing.T) {
	for _, s := range courtSeeds {
		t.Run(s.name, func(t *testing.T) { require.Equal(t, s.phase, runCourtOps(t, s.ops)) })
	}
}

// runCourtOps applies ops (triples: who, what, argument) to a fresh case,
// checking the invariants after each, and returns the final phase.
func runCourtOps(t *testing.T, ops []byte) string {
	m, dispute, nonce, clock := fuzzCourt(t)
	ctx := context.Background()
	codes := []protocol.Code{protocol.CodeDisputeNotFound, protocol.CodeDisputeNotParty, protocol.CodeDisputeNotArbiter,
		protocol.CodeDisputeCommitmentMismatch, protocol.CodeDisputeDeadlinePassed, protocol.CodeVerificationFailed,
		protocol.CodeInvalidMsg}
	id := m.cases[dispute].ProposalID
	rank := 0
	for i := 0; i+2 < len(ops) && i < 90; i += 3 {
		who, what, arg := fuzzAgents[int(ops[i])%len(fuzzAgents)], ops[i+1]%8, ops[i+2]
		var msg protocol.Message
		switch what {
		case 0:
			n := nonce
			if arg%2 == 1 {
				n = "wrong"
			}
			msg = &protocol.DisputeReveal{ProposalID: id, Nonce: n, Sig: who.sign(protocol.DisputeRevealSigningString(id, n))}
		case 1, 2:
			msg = &protocol.ArbiterAccept{DisputeID: dispute, Sig: who.sign(protocol.ArbiterAcceptSigningString(dispute))}
		case 3:
			msg = &protocol.ArbiterDecline{DisputeID: dispute, Sig: who.sign(protocol.ArbiterDeclineSigningString(dispute, ""))}
		case 4, 5:
			items := json.RawMessage(`[` + string(slices.Repeat([]byte(`{"kind":"commit"},`), int(arg%12))) + `{"kind":"x"}]`)
			jsr, err := protocol.JSR(items)
			require.NoError(t, err)
			msg = &protocol.Evidence{DisputeID: dispute, Items: items, Sig: who.sign(protocol.EvidenceSigningString(dispute, jsr))}
		case 6:
			v := []string{"disputant", "respondent", "mutual"}[int(arg)%3]
			msg = &protocol.ArbiterVote{DisputeID: dispute, Verdict: v, Sig: who.sign(protocol.ArbiterVoteSigningString(dispute, v))}
		case 7:
			*clock = clock.Add(time.Duration(arg) * time.Minute)
			m.courtTick(ctx, nullCourier{})
		}
		if msg != nil {
			if perr := m.Handle(ctx, who.Caller, msg, nullCourier{}); perr != nil {
				require.Contains(t, codes, perr.Code, "%s", perr.Message)
			}
		}
		k := m.cases[dispute]
		require.GreaterOrEqual(t, phaseRank[k.Phase], rank, "phase went back to %s", k.Phase)
		rank = phaseRank[k.Phase]
		stored, err := m.cfg.Datastore.Get(ctx, casesPrefix.ChildString(dispute))
		require.NoError(t, err)
		mem, _ := json.Marshal(k)
		require.JSONEq(t, string(mem), string(stored))
		require.LessOrEqual(t, k.Replacements, MaxReplacements+1)
		if k.Phase == phaseResolved {
			r, err := m.cfg.Store.Get(ctx, id)
			require.NoError(t, err)
			require.NoError(t, ledger.Verify(&r))
			require.Equal(t, dispute, r.Outcome.Court.DisputeID)
		}
	}
	return m.cases[dispute].Phase
}
