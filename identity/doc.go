// Package identity holds the Ed25519 identity of agents and nodes: key
// generation and the PEM encodings the wire uses, agent-ID derivation,
// identity files, challenge signing, key rotation chains and revocation
// notices (PROTOCOL.md §3, §4.2–4.3, §7).
//
// It sits below everything that deals in keys: node verifies the
// challenge-response handshake with it and derives peer-bound nonces, the
// agent client loads its identity file and answers challenges, and ledger and
// market verify the signatures inside receipts and proposals.
//
// The byte-exact strings that get signed live in package protocol; this
// package only signs and verifies them. It must not import libp2p (a client
// build stays small; converting keys for libp2p is p2p's job) and does no I/O
// other than reading and writing identity files.
package identity
