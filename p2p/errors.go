package p2p

import "errors"

var (
	// ErrBadKey means the node key is missing or is not a 64-byte Ed25519 private key.
	ErrBadKey = errors.New("p2p: bad node key")
	// ErrBadConfig means a Config field is out of range; the wrapped text names it.
	ErrBadConfig = errors.New("p2p: bad config")
	// ErrBadAddr means a multiaddr did not parse or lacks its /p2p/<id> suffix.
	ErrBadAddr = errors.New("p2p: bad address")
	// ErrBadPeerID means a peer ID string did not decode.
	ErrBadPeerID = errors.New("p2p: bad peer id")
	// ErrNotEd25519 means a peer ID does not embed an Ed25519 public key.
	ErrNotEd25519 = errors.New("p2p: peer id does not embed an ed25519 key")
	// ErrClosed means the Host (or the Topic) has been closed.
	ErrClosed = errors.New("p2p: closed")
	// ErrRunning means Run was called while it was already running.
	ErrRunning = errors.New("p2p: already running")
	// ErrTooLarge means a request or response exceeds Config.MaxMessageSize.
	ErrTooLarge = errors.New("p2p: message too large")
	// ErrRemote means the remote request handler returned an error; the
	// wrapped text carries its message.
	ErrRemote = errors.New("p2p: remote error")
	// ErrNoRoute means a request's target could be neither dialled nor
	// reached hop by hop through connected nodes.
	ErrNoRoute = errors.New("p2p: no route to peer")
)
