package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	"golang.org/x/mod/sumdb/tlog"
)

// receiptsPrefix holds one key per receipt: /receipts/<proposal_id> →
// canonical JSON. Proposal IDs are restricted to [A-Za-z0-9_-] (validate),
// so they are always a single, clean key segment.
const receiptsPrefix = "/receipts/"

// StoreConfig configures a Store.
type StoreConfig struct {
	// Datastore holds receipts and the log. Required. The caller owns it
	// and closes it after the Store is no longer used.
	Datastore datastore.Batching
	// NodeKey is this node's key. Receipts it countersigned are appended to
	// the node's log, and it signs checkpoints. Nil means a read-only
	// verifier: receipts are stored, there is no log, and Checkpoint fails
	// with ErrNoNodeKey.
	NodeKey ed25519.PrivateKey
	// Now is the clock for checkpoint timestamps; nil means time.Now.
	Now func() time.Time
}

// Store keeps receipts in a go-datastore, durably: Put returns only after
// the datastore has synced the write, so a caller may tell clients about a
// settlement once Put returns. Store keeps no goroutines and needs no
// Close.
type Store struct {
	ds      datastore.Batching
	key     ed25519.PrivateKey
	pubHex  string // hex of key's public half, "" without a key
	now     func() time.Time
	proofMu sync.Mutex // serialises foreign-proof writes (store_bundle.go)

	// mu serialises writes. It is held across datastore I/O on purpose: an
	// append must read the log size, stage, commit and bump it as one step,
	// and receipt writes are rare next to the fold. Readers (Get, List,
	// proofs of already-written records) do not take it.
	mu  sync.Mutex
	log *merkleLog // log.size guarded by mu
}

// OpenStore opens the receipt store in cfg.Datastore, loading the log.
func OpenStore(ctx context.Context, cfg StoreConfig) (*Store, error) {
	if cfg.Datastore == nil {
		return nil, errors.New("open receipt store: no datastore")
	}
	if cfg.NodeKey != nil && len(cfg.NodeKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("open receipt store: node key has %d bytes", len(cfg.NodeKey))
	}
	l, err := loadLog(ctx, cfg.Datastore)
	if err != nil {
		return nil, fmt.Errorf("open receipt store: %w", err)
	}
	s := &Store{ds: cfg.Datastore, key: cfg.NodeKey, now: cfg.Now, log: l}
	if s.now == nil {
		s.now = time.Now
	}
	if s.key != nil {
		s.pubHex = hex.EncodeToString(s.key.Public().(ed25519.PublicKey))
	}
	return s, nil
}

func receiptKey(id string) datastore.Key { return datastore.RawKey(receiptsPrefix + id) }

// Put verifies r and stores it. Storing the same receipt again is a no-op;
// a different receipt with the same proposal ID fails with ErrConflict. A
// receipt countersigned by this node is also appended to the node's log in
// the same batch. Put returns after the datastore has synced, also on the
// no-op path, so a retried Put after a failed sync confirms durability.
func (s *Store) Put(ctx context.Context, r Receipt) error {
	if err := Verify(&r); err != nil {
		return fmt.Errorf("store receipt: %w", err)
	}
	return s.putVerified(ctx, &r)
}

func (s *Store) putVerified(ctx context.Context, r *Receipt) error {
	id := r.ID()
	data := r.CanonicalJSON()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.ds.Get(ctx, receiptKey(id))
	switch {
	case err == nil:
		if !bytes.Equal(old, data) {
			return fmt.Errorf("store receipt %q: %w", id, ErrConflict)
		}
		return s.sync(ctx, id)
	case !errors.Is(err, datastore.ErrNotFound):
		return fmt.Errorf("store receipt %q: %w", id, err)
	}
	b, err := s.ds.Batch(ctx)
	if err != nil {
		return fmt.Errorf("store receipt %q: %w", id, err)
	}
	if err := b.Put(ctx, receiptKey(id), data); err != nil {
		return fmt.Errorf("store receipt %q: %w", id, err)
	}
	own := s.key != nil && r.NodePubkey == s.pubHex
	if own {
		if err := s.log.stage(ctx, b, id, data); err != nil {
			return fmt.Errorf("store receipt %q: %w", id, err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("store receipt %q: %w", id, err)
	}
	if own {
		s.log.committed()
	}
	return s.sync(ctx, id)
}

func (s *Store) sync(ctx context.Context, id string) error {
	if err := s.ds.Sync(ctx, datastore.NewKey("/")); err != nil {
		return fmt.Errorf("store receipt %q: sync: %w", id, err)
	}
	return nil
}

// Get returns the receipt stored for proposalID, or an error wrapping
// ErrNotFound.
func (s *Store) Get(ctx context.Context, proposalID string) (Receipt, error) {
	if !validProposalID(proposalID) {
		return Receipt{}, fmt.Errorf("get receipt %q: %w", proposalID, ErrNotFound)
	}
	v, err := s.ds.Get(ctx, receiptKey(proposalID))
	if errors.Is(err, datastore.ErrNotFound) {
		return Receipt{}, fmt.Errorf("get receipt %q: %w", proposalID, ErrNotFound)
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("get receipt %q: %w", proposalID, err)
	}
	return DecodeReceipt(v)
}

// Has reports whether a receipt is stored for proposalID.
func (s *Store) Has(ctx context.Context, proposalID string) (bool, error) {
	if !validProposalID(proposalID) {
		return false, nil
	}
	return s.ds.Has(ctx, receiptKey(proposalID))
}

// List returns every stored receipt in proposal-ID order. Receipts were
// verified when stored; List only decodes them.
func (s *Store) List(ctx context.Context) ([]Receipt, error) {
	res, err := s.ds.Query(ctx, query.Query{
		Prefix: receiptsPrefix[:len(receiptsPrefix)-1],
		Orders: []query.Order{query.OrderByKey{}},
	})
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	defer func() { _ = res.Close() }()
	var out []Receipt
	for {
		e, ok := res.NextSync()
		if !ok {
			break
		}
		if e.Error != nil {
			return nil, fmt.Errorf("list receipts: %w", e.Error)
		}
		r, err := DecodeReceipt(e.Value)
		if err != nil {
			return nil, fmt.Errorf("list receipts: key %s: %w", e.Key, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// LogSize returns the number of records in this node's log.
func (s *Store) LogSize() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.size
}

// Checkpoint signs and returns a checkpoint of this node's log as it is
// now. It fails with ErrNoNodeKey on a store without a node key.
func (s *Store) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if s.key == nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", ErrNoNodeKey)
	}
	size := s.LogSize()
	root, err := s.log.root(ctx, size)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	return SignCheckpoint(s.key, size, root, s.now().UnixMilli()), nil
}

// Prove returns the record number of the receipt for proposalID in this
// node's log and its inclusion proof against cp, a checkpoint of this log.
// Errors wrap ErrNotFound when the receipt is not in the log, ErrBadProof
// when it is not yet covered by cp.
func (s *Store) Prove(ctx context.Context, proposalID string, cp *Checkpoint) (int64, tlog.RecordProof, error) {
	if s.key == nil || cp.NodePubkey != s.pubHex {
		return 0, nil, fmt.Errorf("prove %q: %w: checkpoint is not of this node's log", proposalID, ErrBadProof)
	}
	n, err := s.log.index(ctx, proposalID)
	if err != nil {
		return 0, nil, fmt.Errorf("prove %q: %w", proposalID, err)
	}
	if n >= cp.Size {
		return 0, nil, fmt.Errorf("prove %q: %w: record %d is after the checkpoint (size %d)", proposalID, ErrBadProof, n, cp.Size)
	}
	p, err := s.log.prove(ctx, cp.Size, n)
	if err != nil {
		return 0, nil, fmt.Errorf("prove %q: %w", proposalID, err)
	}
	return n, p, nil
}
