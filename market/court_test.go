package market_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// startCourt is one node with a marketplace that settles at once and the
// given court.
func startCourt(t *testing.T, court market.CourtConfig) *env {
	t.Helper()
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.Node.RateLimits = false
	cfg.Market.MinAge = 0
	cfg.Market.Court = court
	n, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return &env{t: t, node: n}
}

// eligible makes two agents eligible arbiters with one receipt between them.
func (e *env) eligible(names ...string) []*party {
	e.t.Helper()
	var out []*party
	for _, n := range names {
		out = append(out, e.party(n))
	}
	for i := 0; i+1 < len(out); i += 2 {
		settle(e.t, out[i], out[i+1], false)
	}
	return out
}

// With two eligible agents no panel forms: both parties are told why, and
// the proposal is left to the plain dispute, which still settles it.
func TestCourtTooFewArbitersFallsBack(t *testing.T) {
	e := startCourt(t, courtConfig())
	e.eligible("arb0", "arb1")
	a, b := e.party("alice"), e.party("bob")
	id := trade(t, a, b)
	dispute, nonce := b.file(t, id, "not delivered")
	b.reveal(t, id, nonce)
	for _, p := range []*party{a, b} {
		f := p.next(t, "DISPUTE_FALLBACK")
		require.Equal(t, dispute, f.String("dispute_id"))
		require.Equal(t, id, f.String("proposal_id"))
		require.Equal(t, "Insufficient eligible arbiters (2 available, 3 required)", f.String("reason"))
	}
	require.NoError(t, b.Send(map[string]any{"type": "DISPUTE", "proposal_id": id, "reason": "late",
		"sig": b.sign(protocol.DisputeSigningString(id, "late"))}))
	require.Equal(t, b.at(), b.next(t, "DISPUTE").String("disputed_by"))
	b.file(t, trade(t, a, b), "a second proposal has its own case")
}

// A disputant who never reveals loses the case to the timer, and both
// parties hear it.
func TestCourtRevealTimeoutFallsBack(t *testing.T) {
	court := courtConfig()
	court.Reveal = 500 * time.Millisecond
	e := startCourt(t, court)
	a, b := e.party("alice"), e.party("bob")
	id := trade(t, a, b)
	dispute, _ := a.file(t, id, "never paid")
	for _, p := range []*party{a, b} {
		f := p.next(t, "DISPUTE_FALLBACK")
		require.Equal(t, dispute, f.String("dispute_id"))
		require.Equal(t, "Reveal timeout expired", f.String("reason"))
	}
}

// An arbiter who does not answer in time forfeits the seat, which goes to
// the next agent of the shuffled pool.
func TestCourtResponseTimeoutReplaces(t *testing.T) {
	court := courtConfig()
	court.Response = 1500 * time.Millisecond
	e := startCourt(t, court)
	arbs := e.eligible("arb0", "arb1", "arb2", "arb3")
	a, b := e.party("alice"), e.party("bob")
	id := trade(t, a, b)
	dispute, nonce := a.file(t, id, "never paid")
	a.reveal(t, id, nonce)
	pf := a.next(t, "PANEL_FORMED")
	panel := byID(t, arbs, stringsOf(t, pf, "arbiters"))
	panel[0].acceptSeat(t, dispute)
	panel[1].acceptSeat(t, dispute)
	pool := market.CourtPool(e.node.Market.Table(), e.node.Market.Lineage(), court, a.at(), b.at())
	order := protocol.SeededShuffle(pool, pf.String("seed"))
	repl := byID(t, arbs, order[3:4])[0]
	f := repl.next(t, "ARBITER_ASSIGNED")
	require.Equal(t, dispute, f.String("dispute_id"))
	require.Equal(t, true, f.Data["is_replacement"])
	repl.acceptSeat(t, dispute)
	require.Contains(t, nextNotice(t, a, "is seated"), dispute)
}

// Bad input gets the §13 code and changes nothing: the case goes on.
func TestCourtBadInput(t *testing.T) {
	e := startCourt(t, courtConfig())
	arbs := e.eligible("arb0", "arb1", "arb2", "arb3")
	a, b, x := e.party("alice"), e.party("bob"), e.party("mallory")
	id := trade(t, a, b)

	c := protocol.Commitment("n")
	intent := map[string]any{"type": "DISPUTE_INTENT", "proposal_id": id, "reason": "r", "commitment": c,
		"sig": x.sign(protocol.DisputeIntentSigningString(id, "r", c))}
	require.NoError(t, x.Send(intent))
	x.expectError(t, "NOT_PROPOSAL_PARTY", "")
	require.NoError(t, a.Send(intent)) // signed by another key
	a.expectError(t, "VERIFICATION_FAILED", "")
	intent["proposal_id"], intent["sig"] = "prop_none", a.sign(protocol.DisputeIntentSigningString("prop_none", "r", c))
	require.NoError(t, a.Send(intent))
	a.expectError(t, "PROPOSAL_NOT_FOUND", "")

	dispute, nonce := b.file(t, id, "not delivered")
	require.NoError(t, a.Send(map[string]any{"type": "DISPUTE_INTENT", "proposal_id": id, "reason": "r", "commitment": c,
		"sig": a.sign(protocol.DisputeIntentSigningString(id, "r", c))}))
	a.expectError(t, "DISPUTE_ALREADY_EXISTS", "")
	a.complete(t, id)
	a.expectError(t, "INVALID_PROPOSAL", "DISPUTE_IN_PROGRESS")

	a.reveal(t, id, nonce)
	a.expectError(t, "DISPUTE_NOT_PARTY", "")
	b.reveal(t, id, "wrong")
	b.expectError(t, "DISPUTE_COMMITMENT_MISMATCH", "")
	b.evidence(t, dispute, "too early")
	b.expectError(t, "DISPUTE_DEADLINE_PASSED", "")
	x.evidence(t, dispute, "not mine")
	x.expectError(t, "DISPUTE_NOT_PARTY", "")
	x.acceptSeat(t, dispute)
	x.expectError(t, "DISPUTE_NOT_ARBITER", "Not a pending arbiter for this dispute") // no seat before the reveal
	require.NoError(t, x.Send(map[string]any{"type": "ARBITER_ACCEPT", "dispute_id": "disp_none",
		"sig": x.sign(protocol.ArbiterAcceptSigningString("disp_none"))}))
	x.expectError(t, "DISPUTE_NOT_FOUND", "")
	b.reveal(t, id, nonce)
	pf := b.next(t, "PANEL_FORMED")
	b.reveal(t, id, nonce)
	b.expectError(t, "DISPUTE_COMMITMENT_MISMATCH", "") // a second reveal
	x.acceptSeat(t, dispute)
	x.expectError(t, "DISPUTE_NOT_ARBITER", "Not a pending arbiter for this dispute")
	panel := byID(t, arbs, stringsOf(t, pf, "arbiters"))
	panel[0].vote(t, dispute, "disputant")
	panel[0].expectError(t, "DISPUTE_NOT_ARBITER", "Cannot vote: dispute is not in deliberation")
	require.NoError(t, panel[0].Send(map[string]any{"type": "ARBITER_ACCEPT", "dispute_id": dispute, "sig": "bm9wZQ=="}))
	panel[0].expectError(t, "VERIFICATION_FAILED", "")
	require.NoError(t, x.Send(map[string]any{"type": "ARBITER_VOTE", "dispute_id": dispute, "verdict": "guilty",
		"reasoning": "", "sig": "x"}))
	x.expectError(t, "INVALID_MSG", "Invalid verdict (must be disputant, respondent, or mutual)")

	for _, p := range panel {
		p.acceptSeat(t, dispute)
	}
	require.Contains(t, nextNotice(t, b, "is seated"), dispute, "the case went on")
	require.NoError(t, a.Send(map[string]any{"type": "EVIDENCE", "dispute_id": dispute, "items": []any{"flat"},
		"statement": "", "sig": a.sign(protocol.EvidenceSigningString(dispute, []byte(`["flat"]`)))}))
	a.expectError(t, "INVALID_MSG", "Each evidence item must be a JSON object")
	b.evidence(t, dispute, string(make([]byte, market.MaxStatementChars+1)))
	b.expectError(t, "DISPUTE_DEADLINE_PASSED", "")
	b.evidence(t, dispute, "fits")
	b.next(t, "EVIDENCE_RECEIVED")
	b.evidence(t, dispute, "again")
	b.expectError(t, "DISPUTE_DEADLINE_PASSED", "")
	many := `[` + strings.Repeat(`{"kind":"other"},`, market.MaxEvidenceItems) + `{"kind":"other"}]`
	require.NoError(t, a.Send(map[string]any{"type": "EVIDENCE", "dispute_id": dispute, "items": json.RawMessage(many),
		"statement": "", "sig": a.sign(protocol.EvidenceSigningString(dispute, []byte(many)))}))
	a.expectError(t, "DISPUTE_DEADLINE_PASSED", "")

	a.evidence(t, dispute, "mine")
	panel[0].next(t, "CASE_READY")
	long := strings.Repeat("x", market.MaxReasoningChars+1)
	require.NoError(t, panel[0].Send(map[string]any{"type": "ARBITER_VOTE", "dispute_id": dispute, "verdict": "mutual",
		"reasoning": long, "sig": panel[0].sign(protocol.ArbiterVoteSigningString(dispute, "mutual"))}))
	panel[0].expectError(t, "DISPUTE_NOT_ARBITER", "Cannot vote: reasoning exceeds 500 characters")
	x.vote(t, dispute, "mutual")
	x.expectError(t, "DISPUTE_NOT_ARBITER", "Cannot vote: not a seated arbiter or already voted")
	panel[0].vote(t, dispute, "mutual")
	panel[0].vote(t, dispute, "mutual")
	panel[0].expectError(t, "DISPUTE_NOT_ARBITER", "Cannot vote: not a seated arbiter or already voted")
}

// A proposal does not expire while its case is under way: the case
// settles it. Once the case falls back, it expires as any other.
func TestCourtHoldsExpiry(t *testing.T) {
	court := courtConfig()
	court.Reveal = 2500 * time.Millisecond
	e := startCourt(t, court)
	a, b := e.party("alice"), e.party("bob")
	expires := 1.0
	id := proposeAcross(t, a, b, "quick job", &expires)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	dispute, _ := b.file(t, id, "late")
	f := b.next(t, "DISPUTE_FALLBACK", "MSG")
	for f.Type == "MSG" && !strings.Contains(f.String("content"), "expired") {
		f = b.next(t, "DISPUTE_FALLBACK", "MSG")
	}
	require.Equal(t, "DISPUTE_FALLBACK", f.Type, "the proposal expired during its case: %s", f.Raw)
	require.Equal(t, dispute, f.String("dispute_id"))
	require.Contains(t, nextNotice(t, b, "expired"), id)
}
