package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// DER prefixes Node writes for Ed25519 keys (PROTOCOL.md §3.1). The raw key
// follows each prefix directly, so encoding is a concatenation and the output
// matches Node byte for byte, which matters because agent IDs hash the PEM text.
var (
	spkiPrefix  = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}
	pkcs8Prefix = []byte{0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20}
)

const (
	publicPEMType  = "PUBLIC KEY"
	privatePEMType = "PRIVATE KEY"
)

// GenerateKey returns a fresh Ed25519 key pair from crypto/rand.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return pub, priv, nil
}

// EncodePublicPEM returns pub as an SPKI "PUBLIC KEY" PEM exactly as Node
// exports it: one base64 line and a trailing newline. It panics if pub is not
// 32 bytes, as crypto/ed25519 does for malformed keys.
func EncodePublicPEM(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		panic(fmt.Sprintf("identity: bad ed25519 public key length %d", len(pub)))
	}
	der := append(append([]byte(nil), spkiPrefix...), pub...)
	return string(pem.EncodeToMemory(&pem.Block{Type: publicPEMType, Bytes: der}))
}

// EncodePrivatePEM returns priv as a PKCS#8 "PRIVATE KEY" PEM exactly as Node
// exports it. Only the seed is stored; the public half is re-derived on load.
// It panics if priv is not 64 bytes.
func EncodePrivatePEM(priv ed25519.PrivateKey) string {
	if len(priv) != ed25519.PrivateKeySize {
		panic(fmt.Sprintf("identity: bad ed25519 private key length %d", len(priv)))
	}
	der := append(append([]byte(nil), pkcs8Prefix...), priv.Seed()...)
	return string(pem.EncodeToMemory(&pem.Block{Type: privatePEMType, Bytes: der}))
}

// SameKey reports whether two PEM texts hold one key. Agent IDs hash the
// PEM text as sent, so one key can appear under two IDs.
func SameKey(a, b string) bool {
	ka, err := ParsePublicPEM(a)
	if err != nil {
		return false
	}
	kb, err := ParsePublicPEM(b)
	return err == nil && ka.Equal(kb)
}

// ParsePublicPEM parses an SPKI "PUBLIC KEY" PEM holding an Ed25519 key. It
// tolerates what real clients send (no trailing newline, CRLF line endings,
// surrounding whitespace) but rejects everything else, including private-key
// PEMs that Node would accept (PROTOCOL.md §28 item 8): the agent ID is a hash
// of the text, so a private PEM accepted here would name the agent after its
// secret.
func ParsePublicPEM(s string) (ed25519.PublicKey, error) {
	der, err := decodeSingleBlock(s, publicPEMType)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w: %w", ErrNotEd25519, err)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("parse public key: %w (got %T)", ErrNotEd25519, key)
	}
	return pub, nil
}

// ParsePrivatePEM parses a PKCS#8 "PRIVATE KEY" PEM holding an Ed25519 key,
// with the same whitespace tolerance as ParsePublicPEM.
func ParsePrivatePEM(s string) (ed25519.PrivateKey, error) {
	der, err := decodeSingleBlock(s, privatePEMType)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w: %w", ErrNotEd25519, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse private key: %w (got %T)", ErrNotEd25519, key)
	}
	return priv, nil
}

// decodeSingleBlock returns the DER of the one PEM block in s. encoding/pem
// alone would skip junk before the block and ignore anything after it; an
// identity string must be the block and nothing else, so both are refused.
func decodeSingleBlock(s, wantType string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "-----BEGIN ") {
		return nil, fmt.Errorf("%w: no PEM header", ErrBadPEM)
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("%w: undecodable block", ErrBadPEM)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: trailing data after block", ErrBadPEM)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: unexpected PEM headers", ErrBadPEM)
	}
	if block.Type != wantType {
		return nil, fmt.Errorf("%w: %q, want %q", ErrPEMType, block.Type, wantType)
	}
	return block.Bytes, nil
}
