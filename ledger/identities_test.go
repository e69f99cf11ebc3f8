package ledger

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

// fileOf is p as an identity file, so it can rotate and revoke.
func fileOf(p party) *identity.File {
	return &identity.File{PublicKey: p.pem, PrivateKey: identity.EncodePrivatePEM(p.priv), AgentID: strings.TrimPrefix(p.id, "@")}
}

// rotated returns p's successor key after a rotation at ms, and the record.
func rotated(t *testing.T, p party, ms int64) (party, IdentityRecord) {
	t.Helper()
	next, err := fileOf(p).Rotate(time.UnixMilli(ms))
	require.NoError(t, err)
	q := party{priv: next.Private(), pem: next.PublicKey, id: "@" + next.AgentID}
	return q, IdentityRecord{Rotation: &next.Rotations[0]}
}

func revoked(t *testing.T, p party, ms int64) IdentityRecord {
	t.Helper()
	r, err := fileOf(p).Revoke("leaked", time.UnixMilli(ms))
	require.NoError(t, err)
	return IdentityRecord{Revocation: r}
}

const hour = int64(time.Hour / time.Millisecond)

func TestFoldLineage(t *testing.T) {
	base := int64(1_700_000_000_000)
	bob2, rot := rotated(t, bob, base+hour)
	rs := []Receipt{
		rspec{id: "p1", from: alice, to: bob, settled: base}.unsigned(),
		rspec{id: "p2", from: carol, to: bob2, settled: base + 2*hour}.unsigned(),
		rspec{id: "p3", from: bob, to: bob2, settled: base + 3*hour}.unsigned(), // one agent's two keys
		rspec{id: "p4", from: alice, to: bob2, settled: base + 5*hour}.unsigned(),
	}
	require.NoError(t, rot.Verify())

	t.Run("a rotated key's receipts follow the agent", func(t *testing.T) {
		tab := FoldLineage(rs, LineageOf([]IdentityRecord{rot}))
		got := tab.Get(bob2.id)
		require.Equal(t, 3, got.Transactions, "p1 under the old key, p2 and p4 under the new")
		require.Equal(t, 4, got.Settled, "every receipt counts as settled under the current key, p3 once")
		require.Equal(t, Rating{Rating: InitialRating}, tab.Get(bob.id), "the old key has no rating of its own")
		c, ok := tab.Changes("p3")
		require.True(t, ok)
		require.Nil(t, c, "a receipt between two keys of one agent changes nothing")
		c, _ = tab.Changes("p1")
		require.Equal(t, bob.id, c.To.Agent, "rating_changes name the party as the receipt does (§12.1)")
		require.Equal(t, alice.id, c.From.Agent)
		require.Contains(t, c.Parties(), bob.id)
		c, _ = tab.Changes("p4")
		require.Equal(t, bob2.id, c.To.Agent)
		require.Equal(t, got.Rating, c.To.NewRating, "the change is the agent's, under whichever key the receipt names")

		// A dispute the old key won: transferred_to is the receipt's winner too.
		d := rspec{id: "p5", from: bob, to: carol, kind: KindDispute, settled: base + 9*hour}.unsigned()
		c, _ = FoldLineage(append(slices.Clone(rs), d), LineageOf([]IdentityRecord{rot})).Changes("p5")
		require.Equal(t, bob.id, c.From.Agent)
		require.Equal(t, bob.id, c.Escrow.TransferredTo)
		without := Fold(rs)
		require.Equal(t, 3, without.Get(bob2.id).Transactions, "without the record: p2, p3, p4")
	})
	t.Run("receipts after a revocation do not count", func(t *testing.T) {
		rev := revoked(t, bob2, base+4*hour)
		require.NoError(t, rev.Verify())
		tab := FoldLineage(rs, LineageOf([]IdentityRecord{rot, rev}))
		require.Equal(t, 2, tab.Get(bob2.id).Transactions, "p1 and p2 were before the revocation")
		c, ok := tab.Changes("p4")
		require.True(t, ok)
		require.Nil(t, c)
		require.Equal(t, 1, tab.Get(alice.id).Transactions, "p4 does not count for alice either")
		require.Equal(t, 2, tab.Get(alice.id).Settled, "but it was settled")
	})
}

func TestIdentityRecordVerify(t *testing.T) {
	_, rot := rotated(t, alice, 1_700_000_000_000)
	rev := revoked(t, carol, 1_700_000_000_000)
	for _, good := range []IdentityRecord{rot, rev} {
		back, err := DecodeIdentityRecord(good.Encode())
		require.NoError(t, err)
		require.Equal(t, good.ID(), back.ID())
	}
	forged := *rot.Rotation
	forged.NewPubkey, forged.NewAgentID = bob.pem, strings.TrimPrefix(bob.id, "@")
	badTime := *rev.Revocation
	badTime.Timestamp = "soon"
	for name, rec := range map[string]IdentityRecord{
		"empty":            {},
		"both":             {Rotation: rot.Rotation, Revocation: rev.Revocation},
		"forged rotation":  {Rotation: &forged},
		"bad timestamp":    {Revocation: &badTime},
		"not a revocation": {Revocation: &identity.Revocation{Pubkey: carol.pem}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeIdentityRecord(rec.Encode())
			require.Error(t, err)
		})
	}
	_, err := DecodeIdentityRecord([]byte(`{"rotation":{},"extra":1}`))
	require.ErrorIs(t, err, ErrMalformed)
}

// Folding only the receipts DependsOn names gives every agent the rating
// the full fold gives it, on random histories with rotations.
func TestDependsOnGivesTheFullRating(t *testing.T) {
	base := int64(1_700_000_000_000)
	parties := []party{alice, bob, carol, mal, newParty(5), newParty(6)}
	bob2, rot := rotated(t, bob, base+50*hour)
	lin := LineageOf([]IdentityRecord{rot})
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var rs []Receipt
		for i := range 30 {
			a, b := parties[rng.IntN(len(parties))], parties[rng.IntN(len(parties))]
			if a.id == b.id {
				continue
			}
			if a.id == bob.id && i > 15 {
				a = bob2
			}
			s := rspec{id: fmt.Sprintf("p%d_%d", round, i), from: a, to: b, settled: base + int64(rng.IntN(100))*hour,
				accStake: i64(int64(rng.IntN(50)))}
			if rng.IntN(3) == 0 {
				s.kind = KindDispute
			}
			rs = append(rs, s.unsigned())
		}
		full := FoldLineage(rs, lin)
		for _, p := range append(parties, bob2) {
			ids := DependsOn(rs, p.id, lin)
			var sub []Receipt
			for _, r := range rs {
				if slices.Contains(ids, r.ID()) {
					sub = append(sub, r)
				}
			}
			cur := "@" + lin.Current(strings.TrimPrefix(p.id, "@"))
			require.Equal(t, full.Get(cur), FoldLineage(sub, lin).Get(cur), "round %d agent %s", round, p.id)
		}
	}
}

// A bundle carries the identity records; the offline fold uses them, a
// forged record is reported, and Import keeps the good ones.
func TestBundleCarriesIdentities(t *testing.T) {
	base := int64(1_700_000_000_000)
	bob2, rot := rotated(t, bob, base+hour)
	s := openStore(t, memDS(), nodeA)
	all := []Receipt{
		rspec{id: "p1", from: alice, to: bob, settled: base}.signed(t),
		rspec{id: "p2", from: carol, to: bob2, settled: base + 2*hour}.signed(t),
	}
	for _, r := range all {
		require.NoError(t, s.Put(t.Context(), r))
	}
	b, err := s.Bundle(t.Context())
	require.NoError(t, err)
	b.Identities = NewIdentities([]IdentityRecord{rot, revoked(t, mal, base)}).For(all)
	require.Equal(t, []IdentityRecord{rot}, b.Identities, "only the records of the receipts' parties")
	js, err := b.Encode()
	require.NoError(t, err)
	back, err := DecodeBundle(js)
	require.NoError(t, err)
	rep, err := VerifyBundle(back)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Table.Get(bob2.id).Transactions)

	forged := *rot.Rotation
	forged.Timestamp = "2001-01-01T00:00:00.000Z" // backdated: the signature covers the time
	back.Identities = append(back.Identities, IdentityRecord{Rotation: &forged})
	v := openStore(t, memDS(), nil)
	rep, err = v.Import(t.Context(), back)
	require.ErrorIs(t, err, ErrBadBundle)
	require.Len(t, rep.BadIdentities, 1)
	require.Equal(t, 1, rep.BadIdentities[0].Identity)
	require.Equal(t, 2, rep.Table.Get(bob2.id).Transactions, "the good record still counts")
	kept, err := v.Identities(t.Context())
	require.NoError(t, err)
	require.Equal(t, []IdentityRecord{rot}, kept)
	fresh, err := v.PutIdentity(t.Context(), rot)
	require.NoError(t, err)
	require.False(t, fresh, "storing a record again is a no-op")
}

// Empty lists decode to the form Encode writes, so bundles round-trip.
func TestBundleIdentitiesRoundTrip(t *testing.T) {
	for _, js := range []string{
		`{"version":1,"checkpoints":[],"entries":[],"identities":[]}`,
		`{"version":1,"checkpoints":[],"entries":[],"identities":null}`,
		`{"version":1,"checkpoints":[],"entries":[],"identities":[{"revocation":{"type":"REVOCATION","rotations":[]}}]}`,
	} {
		b, err := DecodeBundle([]byte(js))
		require.NoError(t, err, js)
		enc, err := b.Encode()
		require.NoError(t, err)
		back, err := DecodeBundle(enc)
		require.NoError(t, err)
		require.Equal(t, b, back, js)
	}
}

// FuzzDecodeIdentityRecord checks that decoding never panics and that a
// record that decodes re-encodes to one that decodes to the same ID.
func FuzzDecodeIdentityRecord(f *testing.F) {
	p := newParty(9)
	next, _ := fileOf(p).Rotate(time.UnixMilli(1_700_000_000_000))
	rev, _ := next.Revoke("x", time.UnixMilli(1_700_000_100_000))
	for _, rec := range []IdentityRecord{{Rotation: &next.Rotations[0]}, {Revocation: rev}} {
		js := rec.Encode()
		f.Add(js)
		f.Add(js[:len(js)/2])
	}
	for _, s := range []string{"", "{}", `{"rotation":null}`, `{"revocation":{"type":"REVOCATION"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeIdentityRecord(data)
		if err != nil {
			return
		}
		back, err := DecodeIdentityRecord(rec.Encode())
		require.NoError(t, err)
		require.Equal(t, rec.ID(), back.ID())
	})
}

// The stakes of every key of one identity count against the rating they
// share, so a rotated agent cannot stake it once per key.
func TestEscrowCountsEveryKeyOfAnAgent(t *testing.T) {
	bob2, rot := rotated(t, bob, 1_700_000_000_000)
	lin := LineageOf([]IdentityRecord{rot})
	keys := func(a string) []string {
		var out []string
		for _, k := range lin.Keys(strings.TrimPrefix(a, "@")) {
			out = append(out, "@"+k)
		}
		return out
	}
	e := NewEscrow(EscrowConfig{Keys: keys})
	_, err := e.Reserve(t.Context(), Reservation{ProposalID: "p1", From: alice.id, To: bob.id, AcceptorStake: 800})
	require.NoError(t, err)
	require.EqualValues(t, 300, e.Available(bob2.id), "the old key's stake counts for the new key")
	_, err = e.Reserve(t.Context(), Reservation{ProposalID: "p2", From: alice.id, To: bob2.id, AcceptorStake: 301})
	require.ErrorIs(t, err, ErrInsufficient)
	require.EqualValues(t, 1100-800, e.Available(bob.id))
}

// Each receipt that changes no rating says why: the pair cooldown, a
// revoked key, or one agent on both sides, which the fold tells by the
// parsed key, not the ID, since one key under two PEM spellings has two IDs.
func TestFoldUnratedReasons(t *testing.T) {
	base := int64(1_700_000_000_000)
	crlf := strings.ReplaceAll(alice.pem, "\n", "\r\n")
	alias := party{priv: alice.priv, pem: crlf, id: "@" + identity.AgentID(crlf)}
	require.NotEqual(t, alice.id, alias.id, "one key, two IDs")
	bob2, rot := rotated(t, bob, base+hour)
	rs := []Receipt{
		rspec{id: "p1", from: alice, to: carol, settled: base}.unsigned(),
		rspec{id: "p2", from: alice, to: carol, settled: base + 60_000}.unsigned(),
		rspec{id: "p3", from: alice, to: alias, settled: base + 2*hour}.unsigned(),
		rspec{id: "p4", from: bob, to: bob2, settled: base + 3*hour}.unsigned(),
		rspec{id: "p5", from: carol, to: bob2, settled: base + 5*hour}.unsigned(),
	}
	tab := FoldLineage(rs, LineageOf([]IdentityRecord{rot, revoked(t, carol, base+4*hour)}))
	for id, want := range map[string]string{"p1": "", "p2": UnratedCooldown, "p3": UnratedSameAgent,
		"p4": UnratedSameAgent, "p5": UnratedRevoked} {
		require.Equal(t, want, tab.Reason(id), id)
		c, _ := tab.Changes(id)
		require.Equal(t, want == "", c != nil, id)
	}
	require.Equal(t, 4, tab.Unrated())
	require.Equal(t, map[string]int{UnratedCooldown: 1, UnratedSameAgent: 2, UnratedRevoked: 1}, tab.UnratedBy())
	a := tab.Get(alice.id)
	require.Equal(t, 1, a.Transactions)
	require.Equal(t, 3, a.Settled)
	require.Equal(t, map[string]int{UnratedCooldown: 1, UnratedSameAgent: 1}, tab.UnratedOf(alice.id))
	require.Equal(t, map[string]int{UnratedSameAgent: 1, UnratedRevoked: 1}, tab.UnratedOf(bob2.id))
	require.Nil(t, Fold(rs[:1]).UnratedOf(alice.id), "no unrated receipts, no map")
}
