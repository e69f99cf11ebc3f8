package daemon

import "errors"

var (
	// ErrAlreadyRunning means the instance's pid file (or another pid file
	// LockPidFile takes) is held by, or names, a live process.
	ErrAlreadyRunning = errors.New("already running")
	// ErrNotRunning means the instance has no live daemon to stop.
	ErrNotRunning = errors.New("daemon not running")
	// ErrGaveUp means the daemon could not reach the node within
	// Config.MaxReconnectTime, or the node ended the session for good.
	ErrGaveUp = errors.New("daemon lost the node")
)
