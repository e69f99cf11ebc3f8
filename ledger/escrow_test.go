package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/stretchr/testify/require"
)

type clock struct{ ms int64 }

func (c *clock) now() time.Time { return time.UnixMilli(c.ms) }

func ratingsOf(m map[string]float64) func(string) float64 {
	return func(id string) float64 {
		if r, ok := m[id]; ok {
			return r
		}
		return InitialRating
	}
}

func TestInsufficientText(t *testing.T) {
	cases := []struct {
		rating    float64
		held      int64
		requested int64
		want      string
	}{
		{1200, 0, 1101, "Insufficient ELO. Available: 1100, Requested: 1101"},
		{1200, 600, 501, "Insufficient ELO. Available: 500, Requested: 501"},
		{150, 0, 51, "Insufficient ELO. Available: 50, Requested: 51"},
		{100, 0, 1, "Insufficient ELO. Available: 0, Requested: 1"},
		{1200, 2000, 1, "Insufficient ELO. Available: 0, Requested: 1"},
	}
	for _, tc := range cases {
		ratings := map[string]float64{alice.id: 1e6}
		e := NewEscrow(EscrowConfig{Ratings: ratingsOf(ratings)})
		if tc.held > 0 {
			_, err := e.Reserve(t.Context(), Reservation{ProposalID: "held", From: carol.id, To: alice.id, AcceptorStake: tc.held})
			require.NoError(t, err)
		}
		ratings[alice.id] = tc.rating // e.g. fell after the reservation
		err := e.CanStake(alice.id, tc.requested)
		require.ErrorIs(t, err, ErrInsufficient)
		require.Equal(t, tc.want, err.Error())
		require.NoError(t, e.CanStake(alice.id, tc.requested-1))
		require.NoError(t, e.CanStake(alice.id, 0))
		require.NoError(t, e.CanStake(alice.id, -5))
	}
}

func TestEscrowLifecycle(t *testing.T) {
	ctx := t.Context()
	clk := &clock{ms: t0}
	hooks := NewHooks(nil)
	var events []Event
	for name := range eventNames {
		hooks.On(name, func(ev Event) error { events = append(events, ev); return nil })
	}
	e := NewEscrow(EscrowConfig{Ratings: ratingsOf(map[string]float64{alice.id: 700}), Hooks: hooks, Now: clk.now})

	// Proposer refused: alice has 600 available.
	_, err := e.Reserve(ctx, Reservation{ProposalID: "p1", From: alice.id, To: bob.id, ProposerStake: 601})
	var ie *InsufficientError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "Proposer: Insufficient ELO. Available: 600, Requested: 601", ie.Error())
	// Acceptor refused.
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p1", From: bob.id, To: alice.id, ProposerStake: 5, AcceptorStake: 601})
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "Acceptor: Insufficient ELO. Available: 600, Requested: 601", ie.Error())
	require.Empty(t, e.Active())

	// No stakes: no escrow.
	rec, err := e.Reserve(ctx, Reservation{ProposalID: "p0", From: alice.id, To: bob.id})
	require.NoError(t, err)
	require.Nil(t, rec)

	exp := t0 + 60_000
	rec, err = e.Reserve(ctx, Reservation{ProposalID: "p1", From: alice.id, To: bob.id, ProposerStake: 100, AcceptorStake: 20,
		ExpiresAt: &exp, Task: "t", Amount: f64(3), Currency: "SOL"})
	require.NoError(t, err)
	require.Equal(t, EscrowActive, rec.Status)
	require.Equal(t, 500.0, e.Available(alice.id))
	require.Equal(t, 1080.0, e.Available(bob.id))
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p1", From: alice.id, To: bob.id, ProposerStake: 1})
	require.ErrorIs(t, err, ErrEscrowExists)
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p2", From: alice.id, To: carol.id, ProposerStake: 50})
	require.NoError(t, err)
	require.Equal(t, 450.0, e.Available(alice.id))

	// Completion of p1 returns the stakes.
	r1 := rspec{id: "p1", propStake: i64(100), accStake: i64(20), settled: t0 + 90_000, proof: "done"}.unsigned()
	c1, _ := Fold([]Receipt{r1}).Changes("p1")
	require.NoError(t, e.Settle(ctx, &r1, c1))
	got, _ := e.Get("p1")
	require.Equal(t, EscrowSettled, got.Status)
	require.Equal(t, ReasonCompleted, *got.SettlementReason)
	require.Equal(t, t0+90_000, *got.SettledAt)
	require.Equal(t, 550.0, e.Available(alice.id))
	require.ErrorIs(t, e.Settle(ctx, &r1, c1), ErrEscrowNotActive)

	// A dispute without escrow still emits its event.
	r3 := rspec{id: "p3", kind: KindDispute, by: &bob}.unsigned()
	c3, _ := Fold([]Receipt{r3}).Changes("p3")
	require.NoError(t, e.Settle(ctx, &r3, c3))

	// p2 expires.
	clk.ms = t0 + 30_000
	ids, err := e.ReleaseExpired(ctx)
	require.NoError(t, err)
	require.Empty(t, ids, "p2 has no expiry")
	require.NoError(t, e.Release(ctx, "p2", ""))
	require.ErrorIs(t, e.Release(ctx, "p2", ""), ErrEscrowNotActive)
	require.ErrorIs(t, e.Release(ctx, "nope", ""), ErrNotFound)
	require.Equal(t, 600.0, e.Available(alice.id))

	require.Len(t, events, 5)
	require.Equal(t, EventEscrowCreated, events[0].Event)
	require.Equal(t, int64(120), *events[0].TotalStake)
	require.Equal(t, &exp, events[0].Expires)
	require.Equal(t, "p1", events[0].EscrowID)
	require.Equal(t, EventEscrowCreated, events[1].Event)
	require.Equal(t, EventSettlementCompletion, events[2].Event)
	require.Equal(t, &StakePair{Proposer: 100, Acceptor: 20}, events[2].StakesReturned)
	require.Equal(t, "done", events[2].CompletionProof)
	require.Equal(t, 8.0, events[2].RatingChanges[alice.id].Change)
	require.Equal(t, EventSettlementDispute, events[3].Event)
	require.Equal(t, SettlementTransferred, events[3].Settlement)
	require.Equal(t, bob.id, events[3].DisputedBy)
	require.Equal(t, -16.0, events[3].RatingChanges[alice.id].Change)
	require.Equal(t, EventEscrowReleased, events[4].Event)
	require.Equal(t, ReasonExpired, events[4].Reason)
	require.Equal(t, &StakePair{Proposer: 50}, events[4].StakesReleased)

	// A released escrow may be reserved again (an ACCEPT refused by the
	// proposal's node, then retried); an active one may not.
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p2", From: alice.id, To: carol.id, ProposerStake: 10})
	require.NoError(t, err)
	require.Equal(t, 590.0, e.Available(alice.id))
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p2", From: alice.id, To: carol.id, ProposerStake: 10})
	require.ErrorIs(t, err, ErrEscrowExists)
}

func TestEscrowReleaseExpired(t *testing.T) {
	ctx := t.Context()
	clk := &clock{ms: t0}
	e := NewEscrow(EscrowConfig{Now: clk.now})
	for i, exp := range []int64{t0 + 10, t0 + 20, t0 + 30} {
		_, err := e.Reserve(ctx, Reservation{ProposalID: string(rune('a' + i)), From: alice.id, To: bob.id, ProposerStake: 1, ExpiresAt: &exp})
		require.NoError(t, err)
	}
	clk.ms = t0 + 20
	ids, err := e.ReleaseExpired(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, ids)
	require.Len(t, e.Active(), 1)
}

type failingPersister struct{ DatastoreEscrows }

func (failingPersister) SaveEscrow(context.Context, EscrowRecord) error {
	return errors.New("disk full")
}

func TestEscrowPersistence(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	ds, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	e := NewEscrow(EscrowConfig{Persister: DatastoreEscrows{DS: ds}})
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p1", From: alice.id, To: bob.id, ProposerStake: 300})
	require.NoError(t, err)
	_, err = e.Reserve(ctx, Reservation{ProposalID: "p2", From: alice.id, To: bob.id, ProposerStake: 7})
	require.NoError(t, err)
	require.NoError(t, e.Release(ctx, "p2", "cancelled"))
	require.NoError(t, ds.Close())

	ds, err = leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	defer ds.Close()
	e = NewEscrow(EscrowConfig{Persister: DatastoreEscrows{DS: ds}})
	require.NoError(t, e.Load(ctx))
	require.Equal(t, 800.0, e.Available(alice.id))
	p2, ok := e.Get("p2")
	require.True(t, ok)
	require.Equal(t, EscrowReleased, p2.Status)
	require.Equal(t, "cancelled", *p2.SettlementReason)

	// Write-ahead: a failed save changes nothing.
	f := NewEscrow(EscrowConfig{Persister: failingPersister{}})
	_, err = f.Reserve(ctx, Reservation{ProposalID: "p1", From: alice.id, To: bob.id, ProposerStake: 300})
	require.ErrorContains(t, err, "disk full")
	require.Empty(t, f.Active())
	require.Equal(t, 1100.0, f.Available(alice.id))
}
