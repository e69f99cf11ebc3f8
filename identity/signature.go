package identity

import (
	"crypto/ed25519"
	"encoding/base64"
)

// sigB64Len is the length of a 64-byte signature in unpadded base64.
const sigB64Len = (ed25519.SignatureSize*8 + 5) / 6

// Sign signs the UTF-8 bytes of msg and returns the signature in standard
// padded base64 (88 characters), the form every signing site on the wire
// uses (PROTOCOL.md §3.1). It panics if priv is not 64 bytes.
func Sign(priv ed25519.PrivateKey, msg string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(msg)))
}

// Verify reports whether sigB64 is a valid signature of msg by pub. The
// base64 is decoded as leniently as Node's Buffer.from(s, "base64"), because
// that is what deployed servers accept: whitespace is ignored, the URL-safe
// alphabet and missing padding are accepted. Anything that does not decode to
// exactly 64 bytes fails. It never panics, whatever the inputs.
func Verify(pub ed25519.PublicKey, msg, sigB64 string) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false // ed25519.Verify panics on other lengths
	}
	sig, ok := decodeSignature(sigB64)
	if !ok {
		return false
	}
	return ed25519.Verify(pub, []byte(msg), sig[:])
}

// decodeSignature normalises s into a fixed buffer (so hostile input cannot
// make it allocate) and decodes it.
func decodeSignature(s string) (sig [ed25519.SignatureSize]byte, ok bool) {
	var buf [sigB64Len]byte
	n, pad := 0, 0
	for i := range len(s) {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			continue
		case '=':
			pad++
			continue
		case '-':
			c = '+'
		case '_':
			c = '/'
		}
		if pad > 0 || n == sigB64Len {
			return sig, false // data after padding, or too long
		}
		buf[n] = c
		n++
	}
	if n != sigB64Len || pad > 2 {
		return sig, false
	}
	// RawStdEncoding rejects any byte outside the standard alphabet.
	m, err := base64.RawStdEncoding.Decode(sig[:], buf[:n])
	return sig, err == nil && m == ed25519.SignatureSize
}

// CanonicalSignature reports whether s is a signature in the one form Sign
// writes: 88 characters of padded standard base64 with no whitespace and
// no stray bits. Verify accepts more spellings of the same signature; a
// record whose ID covers its signature (operator bans, the mesh's rotation
// and revocation records) requires this form, so that one signed record
// has exactly one ID.
func CanonicalSignature(s string) bool {
	if len(s) != base64.StdEncoding.EncodedLen(ed25519.SignatureSize) {
		return false
	}
	var sig [ed25519.SignatureSize + 2]byte // DecodedLen of 88 characters
	n, err := base64.StdEncoding.Strict().Decode(sig[:], []byte(s))
	return err == nil && n == ed25519.SignatureSize &&
		base64.StdEncoding.EncodeToString(sig[:n]) == s
}
