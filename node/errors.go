package node

import "errors"

var (
	// ErrDataDirLocked means another node process holds the data dir.
	ErrDataDirLocked = errors.New("data dir is in use by another node")
	// ErrNoRoute means no node hosts the agent a direct message is for.
	ErrNoRoute = errors.New("agent not found on any node")
	// ErrClosed means the server has shut down.
	ErrClosed = errors.New("server closed")
	// ErrBanSetFull means the node already relays as many ban records of operators it does not honour as it keeps.
	ErrBanSetFull = errors.New("ban record set is full")
)
