// Package ledger holds the mesh's record of settled work: receipts, the ELO
// ratings folded from them, stakes held in escrow, and the durable,
// Merkle-logged receipt store that lets anyone prove a receipt was issued.
//
// A receipt (Receipt) is self-contained: it carries the proposal, the
// acceptance and the outcome exactly as the agents signed them (PROTOCOL.md
// §7.1, §11), both agents' public keys, and the countersignature of the node
// that settled the proposal. Verify checks it with public keys only. The
// agents' signing strings come from the wire protocol and do not cover every
// field (the proposal signature, for one, does not cover the proposal ID or
// the sender); the node's countersignature over Receipt.SigningBytes covers
// everything, and binds the pieces together.
//
// An agentcourt verdict is a receipt too (KindVerdict, court.go): its
// outcome is the disputant's signed filing and Court carries the case as
// signed, the votes included, so a panel verdict verifies offline.
//
// Ratings are a pure function of a receipt set (Fold): receipts are applied
// in canonical order (settled_at, then proposal ID) with the rules of
// PROTOCOL.md §12.1, and everything history-dependent (transaction counts,
// pair counts, the pair cooldown) is derived from the receipts themselves.
// Two nodes that hold the same receipts therefore hold byte-identical
// tables (Table.Bytes), whatever order the receipts arrived in.
//
// On the data path the package sits after market: a COMPLETE or DISPUTE
// settles a proposal, market builds and countersigns the receipt (Build), the
// Store writes it durably (and appends it to this node's log) before any
// client is told, bridge gossips it, and every node folds it in. Escrow tracks
// the stakes reserved between ACCEPT and settlement and emits the §19 events
// through Hooks, which can forward them to HTTP webhooks (Webhooks).
//
// Rotation and revocation records (IdentityRecord) are the fold's other
// input: FoldLineage rates each party under its agent's current key and
// drops receipts settled after a party's key was revoked; the Store keeps
// the records and bundles carry them.
//
// Each node keeps an append-only log of the receipts it countersigned,
// hashed as a Merkle tree (golang.org/x/mod/sumdb/tlog). A signed Checkpoint
// commits to the log's size and root; a Bundle carries receipts with
// inclusion proofs against such checkpoints, and VerifyBundle checks one
// offline and refolds the ratings.
//
// ledger imports only protocol and identity of this module (and never
// libp2p); market imports it, node does not.
package ledger
