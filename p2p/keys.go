package p2p

import (
	"crypto/ed25519"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The node key is the peer key: these functions are the only place where an
// Ed25519 key becomes a libp2p key or a peer ID and back. Ed25519 public keys
// are short enough that libp2p inlines them in the peer ID (identity
// multihash), so a peer ID alone is enough to verify a node's signature.

// privKey converts a standard library Ed25519 private key (seed || public
// key, 64 bytes) to a libp2p private key.
func privKey(k ed25519.PrivateKey) (crypto.PrivKey, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: want %d bytes, got %d", ErrBadKey, ed25519.PrivateKeySize, len(k))
	}
	pk, err := crypto.UnmarshalEd25519PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return pk, nil
}

// PeerIDFromKey returns the libp2p peer ID (base58 text) of a node whose
// Ed25519 public key is pub.
func PeerIDFromKey(pub ed25519.PublicKey) (string, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%w: public key: want %d bytes, got %d", ErrBadKey, ed25519.PublicKeySize, len(pub))
	}
	pk, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	id, err := peer.IDFromPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("peer id from key: %w", err)
	}
	return id.String(), nil
}

// PublicKeyFromPeerID extracts the Ed25519 public key embedded in an
// identity-multihash peer ID. It fails with ErrBadPeerID when id does not
// decode and with ErrNotEd25519 when id hashes its key (RSA and other long
// keys) or embeds a key of another type.
func PublicKeyFromPeerID(id string) (ed25519.PublicKey, error) {
	pid, err := peer.Decode(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadPeerID, id, err)
	}
	pk, err := pid.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrNotEd25519, id, err)
	}
	if pk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("%w: %q holds a %s key", ErrNotEd25519, id, pk.Type())
	}
	raw, err := pk.Raw()
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrNotEd25519, id, err)
	}
	return ed25519.PublicKey(raw), nil
}

// decodePeer parses a peer ID string.
func decodePeer(id string) (peer.ID, error) {
	pid, err := peer.Decode(id)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPeerID, id, err)
	}
	return pid, nil
}
