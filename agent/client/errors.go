package client

import (
	"errors"

	"github.com/agentchat/mesh/protocol"
)

var (
	// ErrClosed means the Client was closed with Close.
	ErrClosed = errors.New("client closed")
	// ErrDisconnected means the connection to the node ended (and, without
	// Options.Reconnect, the client with it).
	ErrDisconnected = errors.New("connection to the node lost")
	// ErrDisplaced means the node ended this session because another
	// connection proved the same identity (SESSION_DISPLACED, §4.4).
	ErrDisplaced = errors.New("session displaced by another connection with the same identity")
	// ErrRemoved means the node kicked or banned the agent (KICKED, BANNED).
	ErrRemoved = errors.New("removed from the node")
	// ErrNoIdentity means the operation signs and the client has no key.
	ErrNoIdentity = errors.New("operation needs an identity with a private key")
	// ErrVerifyFailed means a peer did not prove its key (VERIFY_FAILED, §15).
	ErrVerifyFailed = errors.New("peer verification failed")
	// ErrNoReply means the node answered a request with something other
	// than the reply the protocol promises.
	ErrNoReply = errors.New("node sent no reply")
)

// ServerError is an ERROR frame the node sent in answer to a request
// (PROTOCOL.md §17). Callers branch on Code; it unwraps to the equivalent
// *protocol.Error.
type ServerError struct {
	Code    protocol.Code
	Message string
}

func (e *ServerError) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the error as a *protocol.Error, for code that matches those.
func (e *ServerError) Unwrap() error { return &protocol.Error{Code: e.Code, Message: e.Message} }

// Is reports whether target is a *ServerError with the same code, so that
// errors.Is(err, &ServerError{Code: protocol.CodeChannelNotFound}) works; a
// target with a Message must match it too.
func (e *ServerError) Is(target error) bool {
	t, ok := target.(*ServerError)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}
