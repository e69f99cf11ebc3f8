// Package market is the marketplace: the proposal state machine (PROPOSAL,
// ACCEPT, REJECT, COMPLETE, DISPUTE), agentcourt's panel disputes
// (court*.go: cases held on the proposal's node, in the datastore, with
// panels any node recomputes from the fold and the seed, settling into
// verdict receipts) and the skills registry, with every signature checked
// against the sender's verified key.
//
// On the data path it sits behind the node: the node authenticates the
// agent and hands over the decoded frame; the machine verifies the agent's
// signature itself, applies the transition, and on COMPLETE or DISPUTE asks
// the ledger to build, countersign and durably store a receipt before any
// client is told the outcome. Ratings shown in frames come from the
// ledger's fold of the receipts under the identity records (rotations,
// revocations) the node holds. Receipts, skills and identity records are
// sets the bridge replicates (ReceiptSet, SkillSet, IdentitySet). It
// imports protocol, identity and ledger only; testnet adapts it to
// node.Market and node.Revocations.
package market
