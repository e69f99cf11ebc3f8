package identity

import "errors"

var (
	// ErrBadPEM means the input is not exactly one well-formed PEM block.
	ErrBadPEM = errors.New("malformed PEM")
	// ErrPEMType means the PEM block is of the wrong kind, such as a private key where a public key belongs.
	ErrPEMType = errors.New("unexpected PEM block type")
	// ErrNotEd25519 means the PEM block holds a key that is not Ed25519, or no key at all.
	ErrNotEd25519 = errors.New("not an Ed25519 key")
	// ErrKeyMismatch means an identity's private key does not belong to its public key.
	ErrKeyMismatch = errors.New("private key does not match public key")
	// ErrNoPrivateKey means the identity holds only a public key and cannot sign.
	ErrNoPrivateKey = errors.New("identity has no private key")
	// ErrBadSignature means a signature does not verify.
	ErrBadSignature = errors.New("invalid signature")
	// ErrBrokenChain means a rotation record's old key is not the previous record's new key.
	ErrBrokenChain = errors.New("rotation chain is broken")
	// ErrNotCurrentKey means a rotation chain does not end at the identity's current key.
	ErrNotCurrentKey = errors.New("rotation chain does not end at the current key")
	// ErrAgentIDMismatch means a recorded agent ID is not the one derived from its public key.
	ErrAgentIDMismatch = errors.New("agent ID does not match public key")
	// ErrNotRevocation means a notice's type field is not "REVOCATION".
	ErrNotRevocation = errors.New("not a revocation notice")
	// ErrNoCountersign means a rotation lacks the new key's signature, which
	// the mesh requires before it links the two keys.
	ErrNoCountersign = errors.New("rotation not countersigned by the new key")
	// ErrBadBan means an operator ban record is not of the required shape.
	ErrBadBan = errors.New("malformed ban record")
)
