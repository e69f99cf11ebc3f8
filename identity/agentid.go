package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ephemeralAlphabet is the character set of ephemeral agent IDs (PROTOCOL.md §3.2).
const ephemeralAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// AgentID derives the wire agent ID of a public key: the lowercase hex of
// the first 8 bytes of SHA-256 over pubkeyPEM exactly as given (PROTOCOL.md
// §3.2). The text is deliberately not normalised: deployed clients hash what
// they send, so the same key with and without a trailing newline has two IDs.
func AgentID(pubkeyPEM string) string {
	sum := sha256.Sum256([]byte(pubkeyPEM))
	return hex.EncodeToString(sum[:8])
}

// ValidAgentID reports whether s has the shape of an agent ID: 16 lowercase
// hex characters (key-derived) or 8 characters of [a-z0-9] (ephemeral).
func ValidAgentID(s string) bool {
	switch len(s) {
	case 16:
		for i := range len(s) {
			if !isLowerHex(s[i]) {
				return false
			}
		}
		return true
	case 8:
		for i := range len(s) {
			if !strings.ContainsRune(ephemeralAlphabet, rune(s[i])) {
				return false
			}
		}
		return true
	}
	return false
}

// EphemeralID returns a random 8-character [a-z0-9] ID for an agent without
// a key. Unlike the original server (which used Math.random) it draws from
// crypto/rand, so IDs cannot be predicted and squatted across a mesh.
func EphemeralID() string {
	var id [8]byte
	var buf [16]byte
	n := 0
	for n < len(id) {
		rand.Read(buf[:]) // never fails since Go 1.24
		for _, b := range buf {
			if n == len(id) {
				break
			}
			// 252 = 7*36: rejecting the top 4 byte values keeps b%36 uniform.
			if b >= 252 {
				continue
			}
			id[n] = ephemeralAlphabet[b%36]
			n++
		}
	}
	return string(id[:])
}

// ParseTarget accepts an agent reference as written on the wire ("@id") or
// bare, and returns the ID without "@" if it is well formed.
func ParseTarget(s string) (id string, ok bool) {
	s = strings.TrimPrefix(s, "@")
	if !ValidAgentID(s) {
		return "", false
	}
	return s, true
}

func isLowerHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f')
}
