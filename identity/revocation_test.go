package identity_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

func TestRevoke(t *testing.T) {
	f, err := identity.New("erin")
	require.NoError(t, err)
	r, err := f.Revoke("", t1)
	require.NoError(t, err)

	require.Equal(t, identity.RevocationType, r.Type)
	require.Equal(t, f.PublicKey, r.Pubkey)
	require.Equal(t, f.AgentID, r.AgentID)
	require.Equal(t, f.AgentID, r.Fingerprint)
	require.Equal(t, "revoked", r.Reason)
	require.Equal(t, "2025-06-01T10:00:00.123Z", r.Timestamp)
	require.NoError(t, identity.VerifyRevocation(r))

	// Independent check of the signed text, as in TestRotate.
	signed, err := json.Marshal(struct {
		Type    string `json:"type"`
		Pubkey  string `json:"pubkey"`
		AgentID string `json:"agent_id"`
		Reason  string `json:"reason"`
		TS      string `json:"timestamp"`
	}{"REVOCATION", r.Pubkey, r.AgentID, r.Reason, r.Timestamp})
	require.NoError(t, err)
	require.True(t, identity.Verify(f.Public(), string(signed), r.Signature))

	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, []string{"type", "pubkey", "agent_id", "fingerprint", "reason", "timestamp", "signature"}, topLevelKeys(t, data))
}

func TestRevokeRotated(t *testing.T) {
	orig, cur := rotatedTwice(t)
	r, err := cur.Revoke("key leaked", time.Now())
	require.NoError(t, err)

	require.Equal(t, "key leaked", r.Reason)
	require.Equal(t, cur.Rotations, r.Rotations)
	require.Equal(t, orig.AgentID, r.OriginalAgentID)
	require.NoError(t, identity.VerifyRevocation(r))

	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.Equal(t, []string{"type", "pubkey", "agent_id", "fingerprint", "reason", "timestamp", "signature", "rotations", "original_agent_id"}, topLevelKeys(t, data))
}

func TestVerifyRevocation(t *testing.T) {
	_, cur := rotatedTwice(t)
	good, err := cur.Revoke("compromised", t0)
	require.NoError(t, err)
	other, err := identity.New("")
	require.NoError(t, err)

	tests := []struct {
		name string
		edit func(r *identity.Revocation)
		want error
	}{
		{name: "valid", edit: func(*identity.Revocation) {}},
		{name: "no fingerprint", edit: func(r *identity.Revocation) { r.Fingerprint = "" }},
		{name: "wrong type", edit: func(r *identity.Revocation) { r.Type = "REVOKE" }, want: identity.ErrNotRevocation},
		{name: "lower-case type", edit: func(r *identity.Revocation) { r.Type = "revocation" }, want: identity.ErrNotRevocation},
		{name: "tampered reason", edit: func(r *identity.Revocation) { r.Reason = "revoked" }, want: identity.ErrBadSignature},
		{name: "tampered timestamp", edit: func(r *identity.Revocation) { r.Timestamp = "2025-03-01T12:00:00.001Z" }, want: identity.ErrBadSignature},
		{name: "garbage signature", edit: func(r *identity.Revocation) { r.Signature = "AAAA" }, want: identity.ErrBadSignature},
		{
			name: "another key",
			edit: func(r *identity.Revocation) {
				r.Pubkey, r.AgentID, r.Fingerprint = other.PublicKey, other.AgentID, other.AgentID
				r.Rotations, r.OriginalAgentID = nil, ""
			},
			want: identity.ErrBadSignature,
		},
		{name: "agent id edited", edit: func(r *identity.Revocation) { r.AgentID = other.AgentID }, want: identity.ErrAgentIDMismatch},
		{name: "fingerprint edited", edit: func(r *identity.Revocation) { r.Fingerprint = other.AgentID }, want: identity.ErrAgentIDMismatch},
		{name: "original id edited", edit: func(r *identity.Revocation) { r.OriginalAgentID = other.AgentID }, want: identity.ErrAgentIDMismatch},
		{name: "chain tampered", edit: func(r *identity.Revocation) { r.Rotations[0].Signature = r.Signature }, want: identity.ErrBadSignature},
		{name: "chain cut", edit: func(r *identity.Revocation) { r.Rotations = r.Rotations[:1] }, want: identity.ErrNotCurrentKey},
		{name: "bad pubkey", edit: func(r *identity.Revocation) { r.Pubkey = "x" }, want: identity.ErrBadPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *good
			r.Rotations = append([]identity.Rotation(nil), good.Rotations...)
			tt.edit(&r)
			err := identity.VerifyRevocation(&r)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}

	require.ErrorIs(t, identity.VerifyRevocation(nil), identity.ErrNotRevocation)
}
