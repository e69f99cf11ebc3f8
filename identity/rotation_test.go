package identity_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
)

// rotatedTwice returns an identity and its state after two rotations.
func rotatedTwice(t *testing.T) (orig, cur *identity.File) {
	t.Helper()
	orig, err := identity.New("dave")
	require.NoError(t, err)
	mid, err := orig.Rotate(t0)
	require.NoError(t, err)
	cur, err = mid.Rotate(t1)
	require.NoError(t, err)
	return orig, cur
}

func TestRotate(t *testing.T) {
	orig, err := identity.New("dave")
	require.NoError(t, err)
	next, err := orig.Rotate(t1)
	require.NoError(t, err)

	require.Empty(t, orig.Rotations, "Rotate does not modify its receiver")
	require.NotEqual(t, orig.PublicKey, next.PublicKey)
	require.Equal(t, identity.AgentID(next.PublicKey), next.AgentID)
	require.Equal(t, orig.Name, next.Name)
	require.Equal(t, orig.Created, next.Created)
	require.Equal(t, next.Public(), next.Private().Public())

	require.Len(t, next.Rotations, 1)
	r := next.Rotations[0]
	require.Equal(t, orig.PublicKey, r.OldPubkey)
	require.Equal(t, orig.AgentID, r.OldAgentID)
	require.Equal(t, next.PublicKey, r.NewPubkey)
	require.Equal(t, next.AgentID, r.NewAgentID)
	require.Equal(t, "2025-06-01T10:00:00.123Z", r.Timestamp)

	// The signed text is JSON.stringify({old_pubkey,new_pubkey,timestamp});
	// encoding/json writes PEM and ISO strings identically, so it can build
	// the expected text independently of protocol.
	signed, err := json.Marshal(struct {
		Old string `json:"old_pubkey"`
		New string `json:"new_pubkey"`
		TS  string `json:"timestamp"`
	}{r.OldPubkey, r.NewPubkey, r.Timestamp})
	require.NoError(t, err)
	require.True(t, identity.Verify(orig.Public(), string(signed), r.Signature))

	// The new key countersigns (a mesh extension, after the §3.4 fields).
	require.True(t, identity.Verify(next.Public(), identity.RotationAcceptString(r.OldPubkey, r.NewPubkey, r.Timestamp), r.NewSignature))
	require.NoError(t, identity.VerifyCountersign(&r))

	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, []string{"old_pubkey", "old_agent_id", "new_pubkey", "new_agent_id", "signature", "timestamp", "new_signature"}, topLevelKeys(t, data))
}

func TestVerifyChain(t *testing.T) {
	orig, cur := rotatedTwice(t)
	_, otherCur := rotatedTwice(t)
	require.Len(t, cur.Rotations, 2)
	require.Equal(t, orig.AgentID, identity.OriginalAgentID(cur.Rotations, cur.PublicKey))
	require.Equal(t, cur.AgentID, identity.OriginalAgentID(nil, cur.PublicKey))

	tests := []struct {
		name    string
		edit    func(rs []identity.Rotation) []identity.Rotation
		current string
		want    error
	}{
		{name: "valid", current: cur.PublicKey},
		{name: "empty chain", edit: func([]identity.Rotation) []identity.Rotation { return nil }, current: cur.PublicKey},
		{
			name:    "first record alone",
			edit:    func(rs []identity.Rotation) []identity.Rotation { return rs[:1] },
			current: cur.Rotations[0].NewPubkey,
		},
		{
			name: "tampered signature",
			edit: func(rs []identity.Rotation) []identity.Rotation {
				rs[1].Signature = rs[0].Signature
				return rs
			},
			current: cur.PublicKey,
			want:    identity.ErrBadSignature,
		},
		{
			name: "tampered timestamp",
			edit: func(rs []identity.Rotation) []identity.Rotation {
				rs[0].Timestamp = "2025-03-01T12:00:00.001Z"
				return rs
			},
			current: cur.PublicKey,
			want:    identity.ErrBadSignature,
		},
		{
			name: "broken link",
			edit: func(rs []identity.Rotation) []identity.Rotation {
				// Both records are validly signed; they belong to different identities.
				return []identity.Rotation{rs[0], otherCur.Rotations[1]}
			},
			current: otherCur.PublicKey,
			want:    identity.ErrBrokenChain,
		},
		{
			name:    "wrong current key",
			current: cur.Rotations[1].OldPubkey,
			want:    identity.ErrNotCurrentKey,
		},
		{
			name:    "current key text differs",
			current: strings.TrimSuffix(cur.PublicKey, "\n"),
			want:    identity.ErrNotCurrentKey,
		},
		{
			name: "edited agent id",
			edit: func(rs []identity.Rotation) []identity.Rotation {
				rs[1].NewAgentID = "0123456789abcdef"
				return rs
			},
			current: cur.PublicKey,
			want:    identity.ErrAgentIDMismatch,
		},
		{
			name: "unparseable old key",
			edit: func(rs []identity.Rotation) []identity.Rotation {
				rs[0].OldPubkey = "not a key"
				rs[0].OldAgentID = identity.AgentID("not a key")
				return rs
			},
			current: cur.PublicKey,
			want:    identity.ErrBadPEM,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := append([]identity.Rotation(nil), cur.Rotations...)
			if tt.edit != nil {
				rs = tt.edit(rs)
			}
			err := identity.VerifyChain(rs, tt.current)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}
