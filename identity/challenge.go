package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/agentchat/mesh/protocol"
)

// nonceSize is the number of bytes behind a challenge nonce (32 hex chars, PROTOCOL.md §4.2).
const nonceSize = 16

// SignChallenge answers a CHALLENGE: it signs the §4.3 auth string built from
// the server's nonce and challenge ID and the client's timestamp (the number
// it will send in VERIFY_IDENTITY).
func SignChallenge(priv ed25519.PrivateKey, nonce, challengeID string, timestamp float64) string {
	return Sign(priv, protocol.AuthSigningString(nonce, challengeID, timestamp))
}

// VerifyChallenge checks a VERIFY_IDENTITY signature against the challenge
// the server issued. The timestamp is not checked for freshness, as in the
// original server: the nonce already makes the answer single-use.
func VerifyChallenge(pub ed25519.PublicKey, nonce, challengeID string, timestamp float64, sig string) bool {
	return Verify(pub, protocol.AuthSigningString(nonce, challengeID, timestamp), sig)
}

// NewNonce returns a challenge nonce: 32 lowercase hex characters from 16
// crypto-random bytes.
func NewNonce() string {
	var b [nonceSize]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// NewBoundNonce returns a challenge nonce that commits to bind (a node puts
// its own peer ID there) together with the random salt behind it. The nonce
// is the first 16 bytes of SHA-256(bind ‖ salt) in hex, so it looks like any
// other nonce to clients. The node keeps salt and publishes it with the
// agent's signature; anyone can then run CheckBoundNonce to see that the
// agent answered a challenge issued by that node and not replayed elsewhere
// (DESIGN.md "Session attestation").
func NewBoundNonce(bind []byte) (nonce string, salt []byte) {
	salt = make([]byte, nonceSize)
	rand.Read(salt) // never fails since Go 1.24
	return boundNonce(bind, salt), salt
}

// CheckBoundNonce reports whether nonce was derived from bind and salt by
// NewBoundNonce. The salt length is fixed so that bind ‖ salt splits in only
// one way.
func CheckBoundNonce(bind, salt []byte, nonce string) bool {
	if len(salt) != nonceSize {
		return false
	}
	return nonce == boundNonce(bind, salt)
}

func boundNonce(bind, salt []byte) string {
	h := sha256.New()
	h.Write(bind)
	h.Write(salt)
	return hex.EncodeToString(h.Sum(nil)[:nonceSize])
}
