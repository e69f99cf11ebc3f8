package identity_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/protocol"
)

func rotate(t *testing.T, f *identity.File, at time.Time) (*identity.File, identity.Rotation) {
	t.Helper()
	next, err := f.Rotate(at)
	require.NoError(t, err)
	return next, next.Rotations[len(next.Rotations)-1]
}

func revoke(t *testing.T, f *identity.File, at time.Time) identity.Revocation {
	t.Helper()
	r, err := f.Revoke("", at)
	require.NoError(t, err)
	return *r
}

func ms(tm time.Time) int64 { return tm.UnixMilli() }

func TestLineage(t *testing.T) {
	a, err := identity.New("a")
	require.NoError(t, err)
	b, ab := rotate(t, a, t0)
	c, bc := rotate(t, b, t0.Add(time.Hour))
	other, err := identity.New("other")
	require.NoError(t, err)
	// A second handover from a, later than the first: a fork.
	_, fork := rotate(t, a, t0.Add(time.Minute))
	// other claims a's successor b: two histories may not merge.
	steal := identity.Rotation{OldPubkey: other.PublicKey, OldAgentID: other.AgentID,
		NewPubkey: b.PublicKey, NewAgentID: b.AgentID, Timestamp: t0.Add(2 * time.Hour).Format(time.RFC3339Nano)}
	steal.Signature = identity.Sign(other.Private(), "unused") // NewLineage trusts its input; the rules still refuse it

	t.Run("chain", func(t *testing.T) {
		l := identity.NewLineage([]identity.Rotation{bc, ab, fork, steal}, nil)
		for _, k := range []string{a.AgentID, b.AgentID, c.AgentID} {
			require.Equal(t, c.AgentID, l.Current(k))
			require.True(t, l.SameAgent(k, c.AgentID))
			require.Equal(t, []string{a.AgentID, b.AgentID, c.AgentID}, l.Keys(k))
		}
		require.Equal(t, other.AgentID, l.Current(other.AgentID), "a key cannot join another agent's history")
		require.False(t, l.SameAgent(other.AgentID, c.AgentID))
	})
	t.Run("order does not matter", func(t *testing.T) {
		recs := []identity.Rotation{ab, bc, fork, steal}
		want := identity.NewLineage(recs, nil)
		for range 20 {
			rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
			got := identity.NewLineage(recs, nil)
			require.Equal(t, want, got)
		}
	})
	t.Run("revocation revokes the key and its history", func(t *testing.T) {
		at := t0.Add(3 * time.Hour)
		l := identity.NewLineage([]identity.Rotation{ab, bc}, []identity.Revocation{revoke(t, c, at)})
		for _, k := range []string{a.AgentID, b.AgentID, c.AgentID} {
			got, ok := l.Revoked(k)
			require.True(t, ok)
			require.Equal(t, ms(at), got)
		}
		_, ok := l.Revoked(other.AgentID)
		require.False(t, ok)
	})
	t.Run("a revoked old key cannot revoke its successor", func(t *testing.T) {
		at := t0.Add(3 * time.Hour)
		l := identity.NewLineage([]identity.Rotation{ab, bc}, []identity.Revocation{revoke(t, a, at)})
		_, ok := l.Revoked(a.AgentID)
		require.True(t, ok)
		_, ok = l.Revoked(c.AgentID)
		require.False(t, ok)
		require.Equal(t, c.AgentID, l.Current(a.AgentID))
	})
	t.Run("a revoked key cannot hand over", func(t *testing.T) {
		l := identity.NewLineage([]identity.Rotation{ab, bc}, []identity.Revocation{revoke(t, b, t0.Add(time.Minute))})
		require.Equal(t, b.AgentID, l.Current(a.AgentID), "b was revoked before it rotated to c")
		require.Equal(t, c.AgentID, l.Current(c.AgentID))
	})
	t.Run("a revocation carries its chain", func(t *testing.T) {
		l := identity.NewLineage(nil, []identity.Revocation{revoke(t, c, t0.Add(3*time.Hour))})
		require.Equal(t, c.AgentID, l.Current(a.AgentID))
	})
	t.Run("equal timestamps: order still does not matter", func(t *testing.T) {
		// Two handovers from a at one instant: the tie is broken by the
		// records' signatures, the same on every node.
		_, x := rotate(t, a, t0)
		_, y := rotate(t, a, t0)
		recs := []identity.Rotation{x, y, bc}
		want := identity.NewLineage(recs, nil)
		winner := x
		if y.Signature < x.Signature {
			winner = y
		}
		require.Equal(t, winner.NewAgentID, want.Current(a.AgentID))
		for range 20 {
			rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
			require.Equal(t, want, identity.NewLineage(recs, nil))
		}
	})
	t.Run("nil", func(t *testing.T) {
		var l *identity.Lineage
		require.Equal(t, a.AgentID, l.Current(a.AgentID))
		_, ok := l.Revoked(a.AgentID)
		require.False(t, ok)
		require.Equal(t, []string{a.AgentID}, l.Keys(a.AgentID))
	})
}

// TestLineageNeedsCountersign: a §3.4 record is signed by the old key only,
// so anyone can sign one from a key of their own to any key whose public
// PEM they know. The lineage links the keys only if the new key
// countersigned, so such a record cannot take over a fresh key's rating,
// nor a key's place after it rotated, whatever timestamp it claims.
func TestLineageNeedsCountersign(t *testing.T) {
	victim, err := identity.New("victim")
	require.NoError(t, err)
	attacker, err := identity.New("attacker")
	require.NoError(t, err)
	forge := func(to *identity.File, at time.Time) identity.Rotation {
		ts := at.UTC().Format(time.RFC3339Nano)
		r := identity.Rotation{OldPubkey: attacker.PublicKey, OldAgentID: attacker.AgentID,
			NewPubkey: to.PublicKey, NewAgentID: to.AgentID, Timestamp: ts,
			Signature: identity.Sign(attacker.Private(), protocol.RotationSigningString(attacker.PublicKey, to.PublicKey, ts))}
		require.NoError(t, identity.VerifyChain([]identity.Rotation{r}, to.PublicKey), "a valid §3.4 record")
		return r
	}

	l := identity.NewLineage([]identity.Rotation{forge(victim, t0)}, nil)
	require.Equal(t, attacker.AgentID, l.Current(attacker.AgentID), "a fresh key cannot be claimed")
	require.False(t, l.SameAgent(attacker.AgentID, victim.AgentID))

	next, vw := rotate(t, victim, t0.Add(time.Hour))
	l = identity.NewLineage([]identity.Rotation{vw, forge(next, t0)}, nil)
	require.Equal(t, next.AgentID, l.Current(victim.AgentID))
	require.Equal(t, attacker.AgentID, l.Current(attacker.AgentID), "an earlier claim on the successor loses too")

	// A chain written without countersignatures (the original client) is
	// valid, but links nothing on the mesh until the new key accepts it.
	plain := vw
	plain.NewSignature = ""
	require.NoError(t, identity.VerifyChain([]identity.Rotation{plain}, next.PublicKey))
	require.Equal(t, victim.AgentID, identity.NewLineage([]identity.Rotation{plain}, nil).Current(victim.AgentID))
	require.NoError(t, next.Countersign(&plain))
	require.Equal(t, next.AgentID, identity.NewLineage([]identity.Rotation{plain}, nil).Current(victim.AgentID))
	require.ErrorIs(t, victim.Countersign(&plain), identity.ErrNotCurrentKey, "only the new key countersigns")

	bad := vw
	bad.NewSignature = identity.Sign(attacker.Private(), identity.RotationAcceptString(vw.OldPubkey, vw.NewPubkey, vw.Timestamp))
	require.ErrorIs(t, identity.VerifyChain([]identity.Rotation{bad}, next.PublicKey), identity.ErrBadSignature)
	require.ErrorIs(t, identity.VerifyCountersign(&plain), nil)
	plain.NewSignature = ""
	require.ErrorIs(t, identity.VerifyCountersign(&plain), identity.ErrNoCountersign)
}

func TestRecordTime(t *testing.T) {
	got, err := identity.RecordTime("2025-06-01T10:00:00.123Z")
	require.NoError(t, err)
	require.Equal(t, time.Date(2025, 6, 1, 10, 0, 0, 123e6, time.UTC).UnixMilli(), got)
	_, err = identity.RecordTime("yesterday")
	require.Error(t, err)
}
