package identity_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

// PROTOCOL.md §26 auth vector.
const (
	vectorNonce       = "00112233445566778899aabbccddeeff"
	vectorChallengeID = "chal_lq2x0abc_deadbeef"
	vectorTimestamp   = 1700000000000
	vectorAuthSig     = "YOSNQf6auOh+8UXkffEXYF61BxOR4qEWax1sLhZRWYiSpWXnhWty8zkIEL7/keYebMU1+OaMBH3GgGAKGYSgBg=="
)

func TestSignChallengeVector(t *testing.T) {
	sig := identity.SignChallenge(vectorKey(), vectorNonce, vectorChallengeID, vectorTimestamp)
	require.Equal(t, vectorAuthSig, sig)
}

func TestVerifyChallenge(t *testing.T) {
	other, _, err := identity.GenerateKey()
	require.NoError(t, err)

	tests := []struct {
		name        string
		pub         []byte
		nonce, chal string
		ts          float64
		want        bool
	}{
		{"vector", vectorPub(), vectorNonce, vectorChallengeID, vectorTimestamp, true},
		{"other key", other, vectorNonce, vectorChallengeID, vectorTimestamp, false},
		{"other nonce", vectorPub(), strings.Repeat("0", 32), vectorChallengeID, vectorTimestamp, false},
		{"other challenge", vectorPub(), vectorNonce, "chal_lq2x0abc_deadbeee", vectorTimestamp, false},
		{"other timestamp", vectorPub(), vectorNonce, vectorChallengeID, vectorTimestamp + 1, false},
		{"fractional timestamp", vectorPub(), vectorNonce, vectorChallengeID, vectorTimestamp + 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, identity.VerifyChallenge(tt.pub, tt.nonce, tt.chal, tt.ts, vectorAuthSig))
		})
	}
}

func TestNewNonce(t *testing.T) {
	a, b := identity.NewNonce(), identity.NewNonce()
	requireNonceShape(t, a)
	requireNonceShape(t, b)
	require.NotEqual(t, a, b)
}

func TestBoundNonce(t *testing.T) {
	bind := []byte("12D3KooWnodepeerid")
	nonce, salt := identity.NewBoundNonce(bind)
	requireNonceShape(t, nonce)
	require.Len(t, salt, 16)

	sum := sha256.Sum256(append(append([]byte(nil), bind...), salt...))
	require.Equal(t, hex.EncodeToString(sum[:16]), nonce, "nonce is SHA-256(bind ‖ salt) truncated")

	again, _ := identity.NewBoundNonce(bind)
	require.NotEqual(t, nonce, again, "each challenge gets fresh randomness")

	otherSalt := append([]byte(nil), salt...)
	otherSalt[0] ^= 1
	tests := []struct {
		name  string
		bind  []byte
		salt  []byte
		nonce string
		want  bool
	}{
		{"issued", bind, salt, nonce, true},
		{"other node", []byte("12D3KooWother"), salt, nonce, false},
		{"other salt", bind, otherSalt, nonce, false},
		{"short salt", bind, salt[:15], nonce, false},
		{"nil salt", bind, nil, nonce, false},
		{"upper-case nonce", bind, salt, strings.ToUpper(nonce), false},
		{"plain nonce", bind, salt, identity.NewNonce(), false},
		// Moving bytes between bind and salt must not produce the same nonce.
		{"shifted split", append(bind[:len(bind):len(bind)], salt[0]), append(salt[1:16:16], 0), nonce, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, identity.CheckBoundNonce(tt.bind, tt.salt, tt.nonce))
		})
	}
}

func requireNonceShape(t *testing.T, nonce string) {
	t.Helper()
	require.Len(t, nonce, 32)
	_, err := hex.DecodeString(nonce)
	require.NoError(t, err)
	require.Equal(t, strings.ToLower(nonce), nonce)
}

func BenchmarkVerifyChallenge(b *testing.B) {
	pub := vectorPub()
	for b.Loop() {
		if !identity.VerifyChallenge(pub, vectorNonce, vectorChallengeID, vectorTimestamp, vectorAuthSig) {
			b.Fatal("vector signature did not verify")
		}
	}
}
