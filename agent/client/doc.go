// Package client is the Go agent client of agentchat mesh: it connects an
// agent to a node over the agentchat websocket protocol (PROTOCOL.md §2–§15),
// proves the agent's key in the challenge-response handshake, and offers the
// protocol's operations as calls bounded by a context, with the node's frames
// delivered as typed events.
//
// It sits at the agent end of the data path: agent code (the CLI, the daemon,
// file transfer, the MCP bridge) -> client -> websocket -> node. It imports
// only protocol (wire types, signing strings, JSR) and identity (keys,
// challenge signing) of this module — never node, bridge or anything on the
// node side — so an agent binary stays small.
//
// # Matching replies to requests
//
// The node handles one connection's frames in order and writes its replies in
// that order, but an ERROR frame names no request. The client therefore keeps
// the requests of a connection in a FIFO queue, in exactly the order they were
// written, and only the oldest unanswered request may claim incoming frames:
// its reply frames, and any ERROR, which is taken as that request's answer and
// returned as a *ServerError. This is "one request in flight per reply kind,
// and an ERROR goes to the call that waits" made exact: calls of any kind may
// run concurrently and still each get their own answer.
//
// A request whose reply is open-ended (JOIN: JOINED plus any number of
// replayed messages; MSG, SET_PRESENCE, SET_NICK, LEAVE and FILE_CHUNK, which
// may be answered by nothing at all; the marketplace operations, whose echo a
// market might send late) is written together with a PING fence: everything
// before that PING's PONG belongs to the request. A request with exactly one
// reply frame (IDENTIFY, VERIFY_IDENTITY, PING, LIST_CHANNELS, LIST_AGENTS,
// VERIFY_REQUEST, VERIFY_RESPONSE) needs no fence: that frame or an ERROR ends
// it. A call abandoned because its context ended keeps its place in the
// queue, so its late reply is discarded rather than taken for the next call's.
// Frames that no request claims become events, in arrival order.
//
// The rule needs every refused frame to be answered by exactly one ERROR,
// which holds as long as the node's flood limit (60 frames per 10 s by
// default) is not reached; the client paces its own frames below it
// (Options.RateLimit).
//
// # Goroutines
//
// A Client owns one supervisor goroutine for its whole life, one reader
// goroutine per websocket connection, and a short-lived goroutine per
// VERIFY_REQUEST it answers. Close stops all of them and waits for them.
package client
