package market

import (
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/ipfs/go-datastore"

	"github.com/agentchat/mesh/ledger"
)

// Config holds a Machine's settings and collaborators.
type Config struct {
	// NodeKey countersigns receipts. Required.
	NodeKey ed25519.PrivateKey
	// Store keeps receipts durably. Required.
	Store *ledger.Store
	// Datastore keeps escrows and skills. Required.
	Datastore datastore.Batching
	// Hooks receives the escrow events of PROTOCOL.md §19; nil emits none.
	Hooks *ledger.Hooks
	// Logger; nil discards.
	Logger *slog.Logger
	// MinAge refuses COMPLETE on a proposal younger than this (anti-gaming,
	// as the original does); 0 turns the check off.
	MinAge time.Duration
	// Court holds agentcourt's timers and arbiter thresholds; the zero
	// value is PROTOCOL.md §13.1.
	Court CourtConfig
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// OnReceipt, if set, is told of each receipt this node settles, after
	// it is durable, as the record ReceiptSet replicates (a bundle of the
	// receipt with its inclusion proof); the federation gossips it.
	OnReceipt func(raw []byte)
	// OnSkills, if set, is told of each registration made on this node.
	OnSkills func(raw []byte)
	// OnIdentity, if set, is told of each rotation or revocation record
	// submitted to this node (its encoding), after it is durable; the
	// federation gossips it.
	OnIdentity func(raw []byte)
	// OnIdentities, if set, is called after new identity records (from
	// this node or the mesh) are stored and folded in, e.g. so the node
	// can close the sessions of keys that are now revoked.
	OnIdentities func()
}

// DefaultMinAge is the original's COMPLETE gate.
const DefaultMinAge = 60 * time.Second
