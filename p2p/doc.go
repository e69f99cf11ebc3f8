// Package p2p is the mesh transport of an agentchat node: a libp2p host built
// from the node's Ed25519 key, a GossipSub router with strict signing,
// validators and peer scoring, peer discovery (a kept-connected bootstrap
// list, mDNS on a LAN, a Kademlia DHT rendezvous at internet scale) and
// request/response stream protocols, which reach a node this host cannot
// dial by routing the request hop by hop through the mesh (relay.go).
//
// On the data path p2p sits below bridge: bridge turns channels into topics
// and envelopes into bytes, p2p moves the bytes. A message published on a
// Topic is signed by this node's key, so every receiver learns its origin
// node from Message.From; a validator registered with SetValidator decides
// Accept, Reject (penalise the forwarding peer through scoring) or Ignore.
// Dropped messages are never silent: a tracer counts every drop, reject and
// duplicate (see Stats) and logs them at Warn, at most once a second.
//
// The Ed25519 to libp2p key conversion lives here (keys.go), so the node key
// is the peer key and a peer ID names a node.
//
// Lifecycle: New builds the libp2p host and the GossipSub router (both own
// their goroutines until Close); Run runs discovery (reconnect loops, mDNS,
// DHT) until its context ends; Close is idempotent and tears everything down.
//
// p2p imports nothing of this module: it takes a plain ed25519.PrivateKey and
// speaks in strings (peer IDs, multiaddrs) and bytes.
package p2p
