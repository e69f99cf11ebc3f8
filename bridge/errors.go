package bridge

import "errors"

var (
	// ErrBadProof means an agent record's session attestation does not bind
	// the agent's key to the node that published it.
	ErrBadProof = errors.New("session attestation does not verify")
	// ErrNotHost means a node spoke for an agent it does not host.
	ErrNotHost = errors.New("origin node does not host this agent")
	// ErrMalformed means an envelope did not decode.
	ErrMalformed = errors.New("malformed envelope")
)
