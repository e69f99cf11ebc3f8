package market_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/market"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// courtCase is one dispute of a mesh test: the proposer a, the recipient b
// (who files), the arbiters and the panel they drew.
type meshCase struct {
	net     *testnet.Net
	a, b    *party
	arbs    []*party
	id      string // proposal
	dispute string
	seed    string
	order   []string // the shuffled pool, as every node computes it
	seated  []*party
}

// fileAndSeat has b file and reveal against a, checks the panel is the one
// every node computes from the seed, and seats it; with decline the first
// arbiter declines and the next of the shuffled pool takes the seat.
func fileAndSeat(t *testing.T, net *testnet.Net, a, b *party, arbs []*party, decline bool) *meshCase {
	t.Helper()
	k := &meshCase{net: net, a: a, b: b, arbs: arbs}
	k.id = proposeAcross(t, a, b, "work for "+b.Name, nil)
	b.next(t, "PROPOSAL")
	b.accept(t, k.id, 0)
	a.next(t, "ACCEPT")
	var nonce string
	k.dispute, nonce = b.file(t, k.id, "not delivered")
	require.Contains(t, a.next(t, "MSG").String("content"), k.dispute, "the respondent hears of the filing")
	b.reveal(t, k.id, nonce)
	pf := b.next(t, "PANEL_FORMED")
	require.Equal(t, pf.Raw, a.next(t, "PANEL_FORMED").Raw)
	k.seed = pf.String("seed")
	require.Equal(t, protocol.DisputeSeed(k.id, nonce, pf.String("server_nonce")), k.seed)
	panel := stringsOf(t, pf, "arbiters")
	for i, n := range net.Nodes { // any node recomputes pool and panel from the receipts
		pool := market.CourtPool(n.Market.Table(), n.Market.Lineage(), courtConfig(), b.at(), a.at())
		order := protocol.SeededShuffle(pool, k.seed)
		require.Equal(t, panel, order[:market.PanelSize], "node %d", i)
		k.order = order
	}
	require.Equal(t, k.seed, b.next(t, "DISPUTE_REVEALED").String("seed"))
	k.seated = byID(t, arbs, panel)
	for _, p := range k.seated {
		f := p.next(t, "ARBITER_ASSIGNED")
		require.Equal(t, k.dispute, f.String("dispute_id"))
		require.Equal(t, b.at(), f.String("disputant"))
	}
	if decline {
		k.seated[0].declineSeat(t, k.dispute, "conflict of interest")
		repl := byID(t, arbs, k.order[market.PanelSize:market.PanelSize+1])[0]
		f := repl.next(t, "ARBITER_ASSIGNED")
		require.Equal(t, k.dispute, f.String("dispute_id"))
		require.Equal(t, true, f.Data["is_replacement"])
		k.seated = append(k.seated[1:], repl)
	}
	for _, p := range k.seated {
		p.acceptSeat(t, k.dispute)
	}
	for _, p := range []*party{a, b} {
		require.Contains(t, nextNotice(t, p, "is seated"), k.dispute)
	}
	return k
}

// nextNotice returns the next server MSG containing text.
func nextNotice(t *testing.T, p *party, text string) string {
	t.Helper()
	for {
		if c := p.next(t, "MSG").String("content"); strings.Contains(c, text) {
			return c
		}
	}
}

// hear has both parties submit evidence and the seated arbiters vote, and
// checks that everyone who held a seat hears the verdict.
func (k *meshCase) hear(t *testing.T, votes []string, want string) {
	t.Helper()
	k.a.evidence(t, k.dispute, "delivered on time")
	k.b.evidence(t, k.dispute, "nothing arrived")
	for _, p := range []*party{k.a, k.b} {
		p.next(t, "EVIDENCE_RECEIVED")
		p.next(t, "EVIDENCE_RECEIVED")
	}
	for i, p := range k.seated {
		// The two submissions are two transitions whose frames reach a
		// remote arbiter independently: the second's CASE_READY may
		// overtake the first's EVIDENCE_RECEIVED.
		var f testnet.Frame
		for received := 0; received < 2 || f.Type == ""; {
			g := p.next(t, "EVIDENCE_RECEIVED", "CASE_READY")
			if g.Type == "CASE_READY" {
				require.Empty(t, f.Type, "%s got CASE_READY twice", p.Name)
				f = g
			} else {
				received++
			}
		}
		require.Equal(t, k.dispute, f.String("dispute_id"))
		require.NotNil(t, f.Data["disputant_evidence"])
		p.vote(t, k.dispute, votes[i])
	}
	for _, p := range append([]*party{k.a, k.b}, k.seated...) {
		f := p.next(t, "VERDICT")
		require.Equal(t, k.dispute, f.String("dispute_id"))
		require.Equal(t, want, f.String("verdict"), "%s", f.Raw)
	}
}

// settled checks the verdict's receipt: SETTLEMENT_COMPLETE carries its
// rating changes, every node holds it and rates the same, and an export of
// the receipts verifies offline with the panel's signed votes in it.
func (k *meshCase) settled(t *testing.T) {
	t.Helper()
	var changes map[string]json.RawMessage
	for _, p := range append([]*party{k.a, k.b}, k.seated...) {
		f := p.next(t, "SETTLEMENT_COMPLETE")
		require.Equal(t, k.dispute, f.String("dispute_id"))
		require.NoError(t, json.Unmarshal(rawField(t, f, "rating_changes"), &changes))
	}
	for _, p := range append([]*party{k.a, k.b}, k.seated...) {
		require.Contains(t, changes, p.at(), "rating_changes names every party and voting arbiter")
	}
	require.Eventually(t, func() bool {
		for _, n := range k.net.Nodes {
			if c, ok := n.Market.Table().Changes(k.id); !ok || c == nil {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "every node folds the verdict")
	offline, b := exportAndVerify(t, k.net.Nodes[2], k.b.ID)
	for i, n := range k.net.Nodes {
		require.Equal(t, offline, reputationOn(t, n, k.b.ID), "node %d rates as the offline refold", i)
	}
	found := false
	for _, e := range b.Entries {
		if e.Receipt.ID() == k.id {
			found = true
			require.Equal(t, ledger.KindVerdict, e.Receipt.Outcome.Kind)
			require.Equal(t, k.dispute, e.Receipt.Outcome.Court.DisputeID)
		}
	}
	require.True(t, found, "the export carries the verdict")
}

// Three nodes; the parties on two of them, the arbiters on all three, made
// eligible by real receipts. A verdict for each side and a mutual one, one
// of them after a decline and its replacement; every node computes the
// same panel from the seed and, in the end, the same ratings.
func TestCourtVerdictsAcrossTheMesh(t *testing.T) {
	net := startCourtNet(t, 3, courtConfig())
	arbs := arbiters(t, net, 0, 1, 2, 0, 1, 2)
	cases := []struct {
		name    string
		decline bool
		votes   []string
		want    string
	}{
		{"disputant", true, []string{"disputant", "disputant", "respondent"}, "disputant"},
		{"respondent", false, []string{"respondent", "respondent", "respondent"}, "respondent"},
		{"mutual", false, []string{"disputant", "respondent", "mutual"}, "mutual"},
	}
	for _, tc := range cases {
		// Connected for the whole test: once rated, later pools may draw them.
		a := partyOn(t, net.Nodes[0], "prop-"+tc.name)
		b := partyOn(t, net.Nodes[1], "recv-"+tc.name)
		t.Run(tc.name, func(t *testing.T) {
			k := fileAndSeat(t, net, a, b, arbs, tc.decline)
			k.hear(t, tc.votes, tc.want)
			k.settled(t)
			arbs = append(arbs, a, b)
		})
	}
	require.Eventually(t, func() bool {
		want := net.Nodes[0].Market.Table().Bytes()
		for _, n := range net.Nodes[1:] {
			if !bytes.Equal(want, n.Market.Table().Bytes()) {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "every node holds the same ratings")
}

// The node holding a case stops mid-case and starts again on its data
// directory: the case is read back and goes on to its verdict.
func TestCourtCaseSurvivesRestart(t *testing.T) {
	net := startCourtNet(t, 3, courtConfig())
	arbs := arbiters(t, net, 1, 2, 1, 2)
	a := partyOn(t, net.Nodes[0], "prop")
	b := partyOn(t, net.Nodes[1], "recv")
	k := fileAndSeat(t, net, a, b, arbs, false)

	require.NoError(t, net.Nodes[0].Close())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, net.Restart(ctx, 0))
	require.NoError(t, net.WaitMesh(ctx, 30*time.Second))
	k.a = partyWithKey(t, net.Nodes[0], "prop", a.priv)
	k.hear(t, []string{"respondent", "respondent", "disputant"}, "respondent")
	require.False(t, slices.Contains(k.order, a.at()))
}

// The fallbacks across the mesh: the parties on two nodes, the case on the
// proposer's. Too few eligible agents, and a reveal the disputant never
// sends: both parties hear why, the second from the case node's timer.
func TestCourtFallbacksAcrossTheMesh(t *testing.T) {
	court := courtConfig()
	court.Reveal = time.Second
	net := startCourtNet(t, 3, court)
	arbiters(t, net, 1, 2)

	a := partyOn(t, net.Nodes[0], "prop")
	b := partyOn(t, net.Nodes[1], "recv")
	id := proposeAcross(t, a, b, "first job", nil)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	dispute, nonce := b.file(t, id, "not delivered")
	b.reveal(t, id, nonce)
	for _, p := range []*party{a, b} {
		f := p.next(t, "DISPUTE_FALLBACK")
		require.Equal(t, dispute, f.String("dispute_id"))
		require.Equal(t, "Insufficient eligible arbiters (2 available, 3 required)", f.String("reason"))
	}
	// The plain dispute still settles it, from the recipient's node.
	require.NoError(t, b.Send(map[string]any{"type": "DISPUTE", "proposal_id": id, "reason": "late",
		"sig": b.sign(protocol.DisputeSigningString(id, "late"))}))
	require.Equal(t, b.at(), b.next(t, "DISPUTE").String("disputed_by"))

	id = proposeAcross(t, a, b, "second job", nil)
	b.next(t, "PROPOSAL")
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	dispute, _ = b.file(t, id, "never revealed")
	for _, p := range []*party{a, b} {
		f := p.next(t, "DISPUTE_FALLBACK")
		require.Equal(t, dispute, f.String("dispute_id"))
		require.Equal(t, "Reveal timeout expired", f.String("reason"))
	}
}
