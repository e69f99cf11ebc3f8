// Package node is the agentchat websocket server: it accepts agents on one
// HTTP listener, runs the handshake (IDENTIFY, CHALLENGE, VERIFY_IDENTITY),
// keeps channels with their replay buffers, presence and nicks, routes chat
// and direct messages, enforces rate limits, the allowlist and bans (its
// own, and the operator-signed ban records of keys it honours, BanSet,
// which the federation replicates), and serves GET /health and /bans. It
// counts what passes through it in Prometheus series (metrics.go) on the
// registry Config.Metrics names, and offers a Snapshot of its agents and
// channels for the operator page.
//
// On the data path it is the first and the last hop: a frame from an agent
// is read by the node's own RFC 6455 frame reader (wsread.go; gorilla only
// does the handshake), size-checked, decoded and validated (package protocol), rate limited and
// authorised here, fanned out to local members and the channel buffer, and
// handed to the Federation for other nodes; frames from other nodes come back
// through Server.Deliver methods and reach local agents the same way
// (floor claims: floor_mesh.go; peer verification: verify_mesh.go).
//
// Outbound, a frame is encoded once and queued to each receiver (writer.go);
// one flusher goroutine per node writes every plain-TCP agent's queue with
// one non-blocking write per round (flusher.go, cork.go), and an agent the
// flusher cannot finish (a slow reader, TLS, a close) gets a writer
// goroutine of its own. Membership news is scoped by Config.PresenceLimit.
//
// Inbound, one goroutine at a time reads a connection; an agent silent for
// Config.ParkAfter has its socket parked in an epoll set (park.go,
// parker_linux.go) with no goroutine and no read buffer until it turns
// readable, so idle agents cost only their own state.
//
// The node declares the interfaces it consumes (Federation, Market,
// Revocations) and ships no-op defaults (nil Revocations: none known), so
// one node runs and is tested alone. It imports protocol and identity only:
// never bridge, p2p, market or ledger.
package node
