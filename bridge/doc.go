// Package bridge federates nodes: it carries each channel over a gossipsub
// topic while a member is in it on any node (carry.go), keeps the roster
// of which node hosts which agent, relays direct messages over libp2p
// streams, forwards marketplace and agentcourt operations to the node
// holding their proposal or case and carries that node's court frames to
// agents elsewhere (court.go), backfills channel history, and keeps
// channel metadata (creation, invites) mesh-wide. TYPING and floor claims
// ride on the channel topics as ephemeral records (chanrecord.go);
// VERIFY_REQUEST and its answer go as requests between the two agents'
// nodes (verifyreq.go).
//
// On the data path it sits between the node and p2p: a local event (a
// message, a join, a presence change) comes in through node.Federation,
// is wrapped in an envelope and published; an envelope from another node
// passes the topic validator here (session attestation, origin, shape),
// is de-duplicated and put back in its origin's order, and is handed to the
// node's Deliver and Remote methods.
//
// Session attestation (DESIGN.md): an agent's challenge nonce derives from
// the hosting node's key, so the proof a node publishes binds the agent to
// that node; another node cannot replay it as its own. bridge imports
// protocol, identity, p2p and node only.
package bridge
