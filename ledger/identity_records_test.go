package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

// unconsented is a valid §3.4 rotation from a fresh key of the signer's
// to victim's key, signed by the old key only: anyone can write one.
func unconsented(t *testing.T, victim party, ms int64) IdentityRecord {
	t.Helper()
	x, err := identity.New("x")
	require.NoError(t, err)
	ts := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
	rot := identity.Rotation{OldPubkey: x.PublicKey, OldAgentID: x.AgentID, NewPubkey: victim.pem,
		NewAgentID: strings.TrimPrefix(victim.id, "@"), Timestamp: ts,
		Signature: identity.Sign(x.Private(), protocol.RotationSigningString(x.PublicKey, victim.pem, ts))}
	require.NoError(t, identity.VerifyChain([]identity.Rotation{rot}, victim.pem))
	return IdentityRecord{Rotation: &rot}
}

// A rotation record the new key did not countersign is refused, so no one
// can hand a key of theirs over to another agent's key and take its rating.
func TestIdentityRecordNeedsCountersign(t *testing.T) {
	rec := unconsented(t, bob, 1_700_000_000_000)
	_, err := DecodeIdentityRecord(rec.Encode())
	require.ErrorIs(t, err, ErrBadIdentity)
	require.ErrorIs(t, err, identity.ErrNoCountersign)
	_, err = openStore(t, memDS(), nil).PutIdentity(t.Context(), rec)
	require.ErrorIs(t, err, identity.ErrNoCountersign)

	// A revocation's chain may hold rotations written without
	// countersignatures (the original client), but not after one with.
	p := newParty(20)
	f1, err := fileOf(p).Rotate(time.UnixMilli(1_700_000_000_000))
	require.NoError(t, err)
	f2, err := f1.Rotate(time.UnixMilli(1_700_000_001_000))
	require.NoError(t, err)
	rev, err := f2.Revoke("", time.UnixMilli(1_700_000_002_000))
	require.NoError(t, err)
	rev.Rotations[0].NewSignature = ""
	_, err = DecodeIdentityRecord((&IdentityRecord{Revocation: rev}).Encode())
	require.NoError(t, err, "old uncountersigned, then countersigned")
	rev.Rotations[0].NewSignature, rev.Rotations[1].NewSignature = f1.Rotations[0].NewSignature, ""
	_, err = DecodeIdentityRecord((&IdentityRecord{Revocation: rev}).Encode())
	require.ErrorIs(t, err, ErrBadIdentity, "countersigned, then not")
}

// Verify takes several spellings of one signature, and the fields outside
// every signature may be left out; the mesh's record IDs hash the
// encoding, so every spelling would be another record. A record decodes
// only with canonical signatures, and to one form.
func TestIdentityRecordHasOneID(t *testing.T) {
	_, rot := rotated(t, bob, 1_700_000_000_000)
	for name, edit := range map[string]func(*identity.Rotation){
		"space in signature":        func(r *identity.Rotation) { r.Signature = r.Signature[:10] + " " + r.Signature[10:] },
		"unpadded signature":        func(r *identity.Rotation) { r.Signature = strings.TrimRight(r.Signature, "=") },
		"newline in countersign":    func(r *identity.Rotation) { r.NewSignature = r.NewSignature[:10] + "\n" + r.NewSignature[10:] },
		"unpadded countersignature": func(r *identity.Rotation) { r.NewSignature = strings.TrimRight(r.NewSignature, "=") },
	} {
		v := *rot.Rotation
		edit(&v)
		_, err := DecodeIdentityRecord((&IdentityRecord{Rotation: &v}).Encode())
		require.ErrorIs(t, err, ErrBadIdentity, name)
	}

	f, err := fileOf(carol).Rotate(time.UnixMilli(1_700_000_000_000))
	require.NoError(t, err)
	rev, err := f.Revoke("", time.UnixMilli(1_700_000_001_000))
	require.NoError(t, err)
	want, err := DecodeIdentityRecord((&IdentityRecord{Revocation: rev}).Encode())
	require.NoError(t, err)
	v := *rev
	v.Fingerprint, v.OriginalAgentID = "", ""
	got, err := DecodeIdentityRecord((&IdentityRecord{Revocation: &v}).Encode())
	require.NoError(t, err)
	require.Equal(t, want.ID(), got.ID(), "unsigned fields left out: the same record")
	v.Signature = strings.TrimRight(v.Signature, "=")
	_, err = DecodeIdentityRecord((&IdentityRecord{Revocation: &v}).Encode())
	require.ErrorIs(t, err, ErrBadIdentity)
}

// Records anyone can sign that mention an agent's key, such as rotations
// into it from throwaway keys, are refused, so they cannot push the
// agent's bundle over the decoder's limit (the reviewer's reproduction).
func TestExportSurvivesRecordsIntoAKey(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, memDS(), nodeA)
	r := receiptN(t, 0, nodeA)
	require.NoError(t, s.Put(ctx, r))
	for range 20 {
		_, err := s.PutIdentity(ctx, unconsented(t, bob, 1_700_000_000_000))
		require.ErrorIs(t, err, ErrBadIdentity)
	}
	b, err := s.Export(ctx, bob.id, nil)
	require.NoError(t, err)
	require.Empty(t, b.Identities)
}

// A bundle carries only the records that took effect on its parties'
// keys: a fork that lost, and a revocation later than one that already
// revoked the key, are left out, and the offline fold is the node's.
func TestExportCarriesOnlyRecordsThatTookEffect(t *testing.T) {
	ctx := t.Context()
	base := int64(1_700_000_000_000)
	s := openStore(t, memDS(), nodeA)
	bob2, rot := rotated(t, bob, base+hour)
	_, fork := rotated(t, bob, base+2*hour) // bob hands over twice: the later loses
	first := revoked(t, bob2, base+4*hour)
	var later []IdentityRecord
	for i := range 5 {
		later = append(later, revoked(t, bob2, base+5*hour+int64(i)))
	}
	all := []Receipt{
		rspec{id: "p1", from: alice, to: bob, settled: base}.signed(t),
		rspec{id: "p2", from: carol, to: bob2, settled: base + 3*hour}.signed(t),
		rspec{id: "p3", from: carol, to: bob2, settled: base + 4*hour + 1}.signed(t), // after the revocation
	}
	for _, r := range all {
		require.NoError(t, s.Put(ctx, r))
	}
	for _, rec := range append([]IdentityRecord{rot, fork, first}, later...) {
		_, err := s.PutIdentity(ctx, rec)
		require.NoError(t, err)
	}
	b, err := s.Export(ctx, bob2.id, nil)
	require.NoError(t, err)
	want := []IdentityRecord{rot, first}
	if want[1].ID() < want[0].ID() {
		want[0], want[1] = want[1], want[0]
	}
	require.Equal(t, want, b.Identities)
	js, err := b.Encode()
	require.NoError(t, err)
	back, err := DecodeBundle(js)
	require.NoError(t, err)
	rep, err := VerifyBundle(back)
	require.NoError(t, err)
	stored, err := s.Identities(ctx)
	require.NoError(t, err)
	node := FoldLineage(all, LineageOf(stored))
	require.Equal(t, node.Get(bob2.id), rep.Table.Get(bob2.id))
	require.Equal(t, 2, rep.Table.Get(bob2.id).Transactions, "p1 under the old key, p2; p3 is after the revocation")
}

// A lost race is lost offline too: a revocation carried for one agent
// whose chained rotation lost its new key to another agent brings the
// winner along.
func TestExportCarriesTheWinnerOfALostRace(t *testing.T) {
	base := int64(1_700_000_000_000)
	// carol → k (countersigned by k) wins k; then a revocation of k's
	// key carries a chain alice → k that loses k.
	kf, err := identity.New("k")
	require.NoError(t, err)
	k := party{priv: kf.Private(), pem: kf.PublicKey, id: "@" + kf.AgentID}
	win := consented(t, carol, kf, base)
	lose := consented(t, alice, kf, base+hour)
	rev, err := kf.Revoke("", time.UnixMilli(base+2*hour))
	require.NoError(t, err)
	rev.Rotations = []identity.Rotation{*lose.Rotation}
	rev.OriginalAgentID = identity.OriginalAgentID(rev.Rotations, rev.Pubkey)
	revRec := IdentityRecord{Revocation: rev}
	require.NoError(t, revRec.Verify())
	ids := NewIdentities([]IdentityRecord{win, revRec})
	require.Equal(t, strings.TrimPrefix(k.id, "@"), ids.Lineage().Current(strings.TrimPrefix(carol.id, "@")))
	got := ids.For([]Receipt{rspec{id: "p1", from: alice, to: bob, settled: base}.unsigned()})
	require.Len(t, got, 2, "alice's key is named by the revocation's chain, whose rotation lost k to carol's")
	require.Equal(t, ids.Lineage().Current(strings.TrimPrefix(alice.id, "@")), LineageOf(got).Current(strings.TrimPrefix(alice.id, "@")))
}

// consented is a rotation from p's key to next's, signed by both.
func consented(t *testing.T, p party, next *identity.File, ms int64) IdentityRecord {
	t.Helper()
	ts := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
	rot := identity.Rotation{OldPubkey: p.pem, OldAgentID: strings.TrimPrefix(p.id, "@"), NewPubkey: next.PublicKey,
		NewAgentID: next.AgentID, Timestamp: ts,
		Signature: identity.Sign(p.priv, protocol.RotationSigningString(p.pem, next.PublicKey, ts))}
	require.NoError(t, next.Countersign(&rot))
	return IdentityRecord{Rotation: &rot}
}

// Export refuses a bundle no decoder would take rather than hand it out.
func TestExportRefusesOverTheIdentityLimit(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, memDS(), nodeA)
	r := receiptN(t, 0, nodeA)
	require.NoError(t, s.Put(ctx, r))
	// bob's own chain of rotations, every one countersigned: all take
	// effect, and all are bob's.
	f := fileOf(bob)
	var recs []IdentityRecord
	for i := range MaxBundleIdentityKeys + 1 {
		next, err := f.Rotate(time.UnixMilli(1_700_000_000_000 + int64(i)))
		require.NoError(t, err)
		recs = append(recs, IdentityRecord{Rotation: &next.Rotations[len(next.Rotations)-1]})
		next.Rotations = nil
		f = next
	}
	_, err := s.Export(ctx, "", NewIdentities(recs))
	require.ErrorIs(t, err, ErrMalformed)
	require.Contains(t, err.Error(), "more than a bundle may carry")
}
