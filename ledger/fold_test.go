package ledger

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const t0 = int64(1_700_000_000_000)

// fakeParty returns a party with only an ID, for fold tests (Fold does not
// verify, so receipts need no keys).
func fakeParty(n int) party { return party{priv: []byte{1}, id: fmt.Sprintf("@%016x", n)} }

type want struct {
	agent        party
	rating       float64
	transactions int
}

func TestFoldWorkedNumbers(t *testing.T) {
	// carol loses a dispute to bob with a 192 stake: bob 1200+8+192 = 1400.
	bobTo1400 := rspec{id: "setup", from: bob, to: carol, kind: KindDispute, by: &bob, accStake: i64(192), settled: t0 - 1000}
	cases := []struct {
		name     string
		receipts []rspec
		want     []want
		change   map[string]float64 // of the last receipt
	}{
		{"completion 1200 vs 1200, amount 0: +8 each",
			[]rspec{{}},
			[]want{{alice, 1208, 1}, {bob, 1208, 1}},
			map[string]float64{alice.id: 8, bob.id: 8}},
		{"completion amount 100: +24 each",
			[]rspec{{amount: f64(100)}},
			[]want{{alice, 1224, 1}, {bob, 1224, 1}},
			map[string]float64{alice.id: 24, bob.id: 24}},
		{"completion 1200 vs 1400: +12 / +4",
			[]rspec{bobTo1400, {}},
			[]want{{alice, 1212, 1}, {bob, 1404, 2}, {carol, 1200 - 16 - 192, 1}},
			map[string]float64{alice.id: 12, bob.id: 4}},
		{"dispute by proposer: recipient at fault -16, proposer +8",
			[]rspec{{kind: KindDispute}},
			[]want{{alice, 1208, 1}, {bob, 1184, 1}},
			map[string]float64{alice.id: 8, bob.id: -16}},
		{"dispute by recipient: proposer at fault",
			[]rspec{{kind: KindDispute, by: &bob}},
			[]want{{alice, 1184, 1}, {bob, 1208, 1}},
			map[string]float64{alice.id: -16, bob.id: 8}},
		{"dispute with stakes, recipient at fault: loses its stake to the proposer",
			[]rspec{{kind: KindDispute, propStake: i64(10), accStake: i64(5)}},
			[]want{{alice, 1200 + 8 + 5, 1}, {bob, 1200 - 16 - 5, 1}},
			map[string]float64{alice.id: 13, bob.id: -21}},
		{"dispute with stakes, proposer at fault",
			[]rspec{{kind: KindDispute, by: &bob, propStake: i64(10), accStake: i64(5)}},
			[]want{{alice, 1200 - 16 - 10, 1}, {bob, 1200 + 8 + 10, 1}},
			map[string]float64{alice.id: -26, bob.id: 18}},
		{"dispute amount 100: -48 / +24",
			[]rspec{{kind: KindDispute, amount: f64(100)}},
			[]want{{alice, 1224, 1}, {bob, 1152, 1}},
			map[string]float64{alice.id: 24, bob.id: -48}},
		{"negative stake counts as none",
			[]rspec{{kind: KindDispute, accStake: i64(-50)}},
			[]want{{alice, 1208, 1}, {bob, 1184, 1}},
			map[string]float64{alice.id: 8, bob.id: -16}},
		{"floor: a huge lost stake stops at 100, change keeps the full delta",
			[]rspec{{kind: KindDispute, by: &bob, propStake: i64(2000)}},
			[]want{{alice, 100, 1}, {bob, 1200 + 8 + 2000, 1}},
			map[string]float64{alice.id: -2016, bob.id: 2008}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rs []Receipt
			for _, s := range tc.receipts {
				rs = append(rs, s.unsigned())
			}
			tab := Fold(rs)
			for _, w := range tc.want {
				got := tab.Get(w.agent.id)
				require.Equal(t, w.rating, got.Rating, "rating of %s", w.agent.id)
				require.Equal(t, w.transactions, got.Transactions, "transactions of %s", w.agent.id)
			}
			last := tc.receipts[len(tc.receipts)-1].fill()
			c, ok := tab.Changes(last.id)
			require.True(t, ok)
			require.NotNil(t, c)
			for agent, delta := range tc.change {
				ch, ok := c.For(agent)
				require.True(t, ok)
				require.Equal(t, delta, ch.Change, "change of %s", agent)
			}
		})
	}
}

func TestFoldRatingChangesJSON(t *testing.T) {
	rs := []Receipt{
		rspec{id: "p1"}.unsigned(),
		rspec{id: "p2", kind: KindDispute, by: &bob, propStake: i64(2000), settled: t0 + PairCooldownMS}.unsigned(),
		rspec{id: "p3", propStake: i64(3), settled: t0 + 2*PairCooldownMS}.unsigned(),
	}
	tab := Fold(rs)
	a, b := alice.id, bob.id
	expect := map[string]string{
		"p1": `{"` + a + `":{"oldRating":1200,"newRating":1208,"change":8,"transactions":1},"` + b + `":{"oldRating":1200,"newRating":1208,"change":8,"transactions":1}}`,
		"p2": `{"` + a + `":{"oldRating":1208,"newRating":100,"change":-2016,"transactions":2},"` + b + `":{"oldRating":1208,"newRating":3216,"change":2008,"transactions":2},` +
			`"_escrow":{"proposer_stake":2000,"acceptor_stake":0,"settlement":"transferred","transferred_to":"` + b + `","transferred_amount":2000}}`,
		"p3": `{"` + a + `":{"oldRating":100,"newRating":108,"change":8,"transactions":3},"` + b + `":{"oldRating":3216,"newRating":3217,"change":1,"transactions":3},` +
			`"_escrow":{"proposer_stake":3,"acceptor_stake":0,"settlement":"returned"}}`,
	}
	for id, js := range expect {
		c, ok := tab.Changes(id)
		require.True(t, ok)
		got, err := c.MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, js, string(got), id)
	}
	_, ok := tab.Changes("nope")
	require.False(t, ok)
	require.Equal(t, Rating{Rating: InitialRating}, tab.Get(carol.id))
}

// TestFoldKFactorTransitions keeps an agent at the floor and has it lose
// disputes to opponents also at the floor (equal ratings, E = 0.5), so each
// loss is exactly K/2 of its own transaction count before the receipt.
func TestFoldKFactorTransitions(t *testing.T) {
	victim, sink := fakeParty(0), fakeParty(1)
	var rs []Receipt
	clock := t0
	next := func() int64 { clock++; return clock }
	// The victim drops to the floor: transaction 1.
	rs = append(rs, rspec{id: "v-floor", from: victim, to: sink, kind: KindDispute, by: &sink, propStake: i64(5000), settled: next()}.unsigned())
	lossAt := map[int]string{} // victim's tx before the dispute → proposal ID
	for i := 2; i <= 102; i++ {
		opp := fakeParty(1000 + i)
		rs = append(rs, rspec{id: fmt.Sprintf("o-floor-%03d", i), from: opp, to: sink, kind: KindDispute, by: &sink, propStake: i64(5000), settled: next()}.unsigned())
		id := fmt.Sprintf("v-loss-%03d", i)
		rs = append(rs, rspec{id: id, from: victim, to: opp, kind: KindDispute, by: &opp, settled: next()}.unsigned())
		lossAt[i-1] = id
	}
	tab := Fold(rs)
	cases := []struct {
		tx   int
		loss float64
	}{{1, -16}, {29, -16}, {30, -12}, {31, -12}, {99, -12}, {100, -8}, {101, -8}}
	for _, tc := range cases {
		c, ok := tab.Changes(lossAt[tc.tx])
		require.True(t, ok)
		ch, _ := c.For(victim.id)
		require.Equal(t, tc.loss, ch.Change, "loss at %d transactions", tc.tx)
		require.Equal(t, float64(MinRating), ch.NewRating)
		require.Equal(t, tc.tx+1, ch.Transactions)
	}
	require.Equal(t, Rating{Rating: MinRating, Transactions: 102, Settled: 102, Updated: clock}, tab.Get(victim.id))
}

func TestFoldPairDiminishingAndCooldown(t *testing.T) {
	h := int64(PairCooldownMS)
	type step struct {
		id       string
		from, to party
		at       int64
		change   float64 // each party's change; 0 = cooldown (null)
	}
	steps := []step{
		{"c1", alice, bob, t0, 8},
		{"c2", alice, bob, t0 + h - 1, 0},   // 59:59.999 later: cooldown
		{"c3", bob, alice, t0 + h, 4},       // same pair either way round; n = 2
		{"x1", alice, carol, t0 + h + 1, 8}, // another pair is unaffected
		{"c4", alice, bob, t0 + 2*h - 1, 0}, // within an hour of c3
		{"c5", alice, bob, t0 + 2*h + 5, 3}, // n = 3: 16/2/3 = 2.67
		{"c6", alice, bob, t0 + 3*h + 5, 2}, // n = 4
		{"c7", alice, bob, t0 + 4*h + 5, 2}, // n = 5: 1.6
		{"c8", alice, bob, t0 + 5*h + 5, 1}, // n = 6: 1.33
		{"c9", alice, bob, t0 + 50*h, 1},    // n = 7: never below 1
	}
	var rs []Receipt
	for _, s := range steps {
		rs = append(rs, rspec{id: s.id, from: s.from, to: s.to, settled: s.at}.unsigned())
	}
	tab := Fold(rs)
	tx := map[string]int{}
	for _, s := range steps {
		c, ok := tab.Changes(s.id)
		require.True(t, ok, s.id)
		if s.change == 0 {
			require.Nil(t, c, "%s must change nothing", s.id)
			continue
		}
		require.NotNil(t, c, s.id)
		for _, p := range []party{s.from, s.to} {
			tx[p.id]++
			ch, _ := c.For(p.id)
			if s.id == "x1" {
				continue // alice is ahead of carol by then; checked below
			}
			require.Equal(t, s.change, ch.Change, "%s change of %s", s.id, p.id)
			require.Equal(t, tx[p.id], ch.Transactions, "%s transactions of %s", s.id, p.id)
		}
	}
	// Cooldown completions count no transaction: 7 rated of 9 settled.
	require.Equal(t, 7, tab.Get(bob.id).Transactions)
	require.Equal(t, 9, tab.Get(bob.id).Settled)
	require.Equal(t, 8, tab.Get(alice.id).Transactions)
	require.Equal(t, 10, tab.Get(alice.id).Settled)
	require.Equal(t, 2, tab.Unrated())
	require.Equal(t, 1200.0+8+4+3+2+2+1+1, tab.Get(bob.id).Rating)
	// x1: alice (1212) and a new carol, first completion of their pair:
	// carol E = 1/(1+10^(12/400)) = 0.4827, gain round(32×0.5173) = 17,
	// change round(8.5) = 9; alice gain round(32×0.4827) = 15, change 8.
	x1, _ := tab.Changes("x1")
	ch, _ := x1.For(carol.id)
	require.Equal(t, Change{OldRating: 1200, NewRating: 1209, Change: 9, Transactions: 1}, ch)
	ch, _ = x1.For(alice.id)
	require.Equal(t, Change{OldRating: 1212, NewRating: 1220, Change: 8, Transactions: 3}, ch)
}

// randomReceipts returns n fold-only receipts over a few agents with ties
// in settled_at, both kinds, amounts, stakes and exact duplicates.
func randomReceipts(rng *rand.Rand, n, agents int) []Receipt {
	var rs []Receipt
	for i := range n {
		a := rng.IntN(agents)
		b := (a + 1 + rng.IntN(agents-1)) % agents
		s := rspec{
			id:      fmt.Sprintf("prop_%06d", i),
			from:    fakeParty(a),
			to:      fakeParty(b),
			settled: t0 + int64(rng.IntN(n/2+1))*int64(PairCooldownMS/4),
		}
		if rng.IntN(3) == 0 {
			s.kind = KindDispute
			if rng.IntN(2) == 0 {
				s.by = &s.to
			}
		}
		if rng.IntN(2) == 0 {
			s.amount = f64(float64(rng.IntN(500)) / 4)
		}
		if rng.IntN(4) == 0 {
			s.propStake = i64(int64(rng.IntN(40)))
			s.accStake = i64(int64(rng.IntN(40)))
		}
		rs = append(rs, s.unsigned())
		if rng.IntN(10) == 0 {
			rs = append(rs, s.unsigned()) // exact duplicate
		}
	}
	return rs
}

func TestFoldPermutationInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := randomReceipts(rng, 400, 12)
	want := Fold(rs).Bytes()
	require.True(t, strings.HasPrefix(string(want), `{"ratings":{"@`))
	for i := range 25 {
		shuffled := append([]Receipt(nil), rs...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		require.Equal(t, string(want), string(Fold(shuffled).Bytes()), "permutation %d", i)
	}
	// The input is not reordered.
	cp := append([]Receipt(nil), rs...)
	Fold(rs)
	require.Equal(t, cp, rs)
}

func TestFoldConflictingDuplicatesAreDeterministic(t *testing.T) {
	a := rspec{id: "dup", task: "a"}.unsigned()
	b := rspec{id: "dup", task: "b", kind: KindDispute}.unsigned()
	x := Fold([]Receipt{a, b}).Bytes()
	y := Fold([]Receipt{b, a}).Bytes()
	require.Equal(t, string(x), string(y))
	require.Equal(t, 1, Fold([]Receipt{a, b, a}).Receipts())
}

func TestTableBytes(t *testing.T) {
	tab := Fold([]Receipt{rspec{id: "p1"}.unsigned()})
	a, b := alice.id, bob.id
	if b < a {
		a, b = b, a
	}
	js := `{"ratings":{"` + a + `":{"rating":1208,"transactions":1,"settled":1,"updated":1700000000000},"` +
		b + `":{"rating":1208,"transactions":1,"settled":1,"updated":1700000000000}},"receipts":[{"proposal_id":"p1","rating_changes":{"` +
		alice.id + `":{"oldRating":1200,"newRating":1208,"change":8,"transactions":1},"` + bob.id +
		`":{"oldRating":1200,"newRating":1208,"change":8,"transactions":1}}}]}`
	require.Equal(t, js, string(tab.Bytes()))
	require.Len(t, tab.Ratings(), 2)
	require.Equal(t, `{"ratings":{},"receipts":[]}`, string(Fold(nil).Bytes()))
}

// TestFoldFarmingLoopCountsOncePerHour pins issue 18.2: 647 completions
// between two agents settled seconds apart (a propose/accept/complete
// loop) are 647 valid receipts but one rated transaction: the pair
// cooldown of PROTOCOL.md §12.1 step 1. The table says so: 1 counted,
// 647 settled, 646 unrated — so /reputation and `receipts verify`, which
// both show it, agree on the number and on why.
func TestFoldFarmingLoopCountsOncePerHour(t *testing.T) {
	var rs []Receipt
	for i := range 647 {
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		rs = append(rs, rspec{id: fmt.Sprintf("loop-%03d", i), from: from, to: to, settled: t0 + int64(i)*5000}.unsigned())
	}
	tab := Fold(rs)
	for _, p := range []party{alice, bob} {
		require.Equal(t, Rating{Rating: 1208, Transactions: 1, Settled: 647, Updated: t0}, tab.Get(p.id))
	}
	require.Equal(t, 647, tab.Receipts())
	require.Equal(t, 646, tab.Unrated())
	// An hour after the first, the pair's second rated completion.
	rs = append(rs, rspec{id: "later", settled: t0 + PairCooldownMS}.unsigned())
	tab = Fold(rs)
	require.Equal(t, 2, tab.Get(alice.id).Transactions)
	require.Equal(t, 648, tab.Get(alice.id).Settled)
	require.Equal(t, 646, tab.Unrated())
}
