package node

import "errors"

var (
	// ErrDataDirLocked means another node process holds the data dir.
	ErrDataDirLocked = errors.New("data dir is in use by another node")
	// ErrNoRoute means no node hosts the agent a direct message is for.
	ErrNoRoute = errors.New("agent not found on any node")
	// ErrNoPubkey means the target of a VERIFY_REQUEST has no key to sign with.
	ErrNoPubkey = errors.New("agent has no public key")
	// ErrDuplicateRequest means a verification request ID is already pending here.
	ErrDuplicateRequest = errors.New("verification request ID already pending")
	// ErrTooManyVerifies means the requester's node already has
	// MaxRemoteVerifies verification requests pending here.
	ErrTooManyVerifies = errors.New("too many verification requests pending from that node")
	// ErrClosed means the server has shut down.
	ErrClosed = errors.New("server closed")
	// ErrBanSetFull means the node already relays as many ban records of operators it does not honour as it keeps.
	ErrBanSetFull = errors.New("ban record set is full")
)
