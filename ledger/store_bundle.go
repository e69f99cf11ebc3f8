package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ipfs/go-datastore"
	"golang.org/x/mod/sumdb/tlog"
)

// proofsPrefix holds, for receipts countersigned by other nodes, the proof
// that came with them: /proofs/<proposal_id> → JSON proofRecord. Receipts
// of this node are proved from its own log instead.
const proofsPrefix = "/proofs/"

type proofRecord struct {
	Checkpoint Checkpoint       `json:"checkpoint"`
	Index      int64            `json:"index"`
	Proof      tlog.RecordProof `json:"proof"`
}

// Import verifies a bundle (VerifyBundle; one over the limits of limits.go
// is refused whole, wrapping ErrMalformed) and stores every good receipt,
// keeping the inclusion proof of receipts countersigned by other nodes so
// that Bundle can pass them on, and every good identity record. Bad entries
// are skipped and reported; the error wraps ErrBadBundle if there were any,
// and joins any storage error (a conflict with a stored receipt wraps
// ErrConflict).
func (s *Store) Import(ctx context.Context, b *Bundle) (Report, error) {
	if err := b.bounds(); err != nil {
		return Report{Entries: len(b.Entries)}, fmt.Errorf("import bundle: %w", err)
	}
	rep, good, ids := verifyBundle(b)
	if rep.Table == nil {
		return rep, fmt.Errorf("import bundle: %w: unsupported bundle version %d", ErrMalformed, b.Version)
	}
	var errs []error
	if !rep.OK() {
		errs = append(errs, fmt.Errorf("import bundle: %w: %d of %d entries, %d checkpoints and %d identity records failed",
			ErrBadBundle, len(rep.Bad), rep.Entries, len(rep.BadCheckpoints), len(rep.BadIdentities)))
	}
	for _, rec := range ids {
		if _, err := s.PutIdentity(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	for _, pe := range good {
		r := &pe.entry.Receipt
		if err := s.putVerified(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		if s.key != nil && r.NodePubkey == s.pubHex {
			continue
		}
		if err := s.putProof(ctx, r.ID(), proofRecord{Checkpoint: *pe.cp, Index: pe.entry.Index, Proof: pe.entry.Proof}); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// putProof stores a foreign receipt's proof unless one is already kept.
func (s *Store) putProof(ctx context.Context, id string, pr proofRecord) error {
	k := datastore.RawKey(proofsPrefix + id)
	s.proofMu.Lock()
	defer s.proofMu.Unlock()
	switch has, err := s.ds.Has(ctx, k); {
	case err != nil:
		return fmt.Errorf("store proof of %q: %w", id, err)
	case has:
		return nil
	}
	v, err := json.Marshal(pr)
	if err != nil {
		return fmt.Errorf("store proof of %q: %w", id, err)
	}
	if err := s.ds.Put(ctx, k, v); err != nil {
		return fmt.Errorf("store proof of %q: %w", id, err)
	}
	if err := s.ds.Sync(ctx, k); err != nil {
		return fmt.Errorf("store proof of %q: sync: %w", id, err)
	}
	return nil
}

func (s *Store) getProof(ctx context.Context, id string) (proofRecord, error) {
	var pr proofRecord
	v, err := s.ds.Get(ctx, datastore.RawKey(proofsPrefix+id))
	if errors.Is(err, datastore.ErrNotFound) {
		return pr, fmt.Errorf("receipt %q: %w", id, ErrNoProof)
	}
	if err != nil {
		return pr, fmt.Errorf("read proof of %q: %w", id, err)
	}
	if err := decodeStrict(v, &pr); err != nil {
		return pr, fmt.Errorf("read proof of %q: %w", id, err)
	}
	return pr, nil
}

// Bundle exports receipts with their proofs: this node's receipts are
// proved against a fresh checkpoint of its log, other nodes' receipts with
// the proof they were imported with, each entry naming its checkpoint
// where its node has several in the bundle (BundleEntry.CheckpointSize). With ids, each named receipt must be
// provable (else an error wrapping ErrNotFound or ErrNoProof); without, every
// stored receipt that is provable is included, in proposal-ID order.
func (s *Store) Bundle(ctx context.Context, ids ...string) (*Bundle, error) {
	var receipts []Receipt
	explicit := len(ids) > 0
	if explicit {
		for _, id := range ids {
			r, err := s.Get(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("bundle: %w", err)
			}
			receipts = append(receipts, r)
		}
	} else {
		var err error
		if receipts, err = s.List(ctx); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
	}

	b := &Bundle{Version: BundleVersion, Checkpoints: []Checkpoint{}, Entries: []BundleEntry{}}
	seen := make(map[string]bool) // checkpoint signatures already in b
	addCP := func(cp Checkpoint) {
		if !seen[cp.Sig] {
			seen[cp.Sig] = true
			b.Checkpoints = append(b.Checkpoints, cp)
		}
	}
	var own *Checkpoint
	for _, r := range receipts {
		if s.key != nil && r.NodePubkey == s.pubHex {
			if own == nil {
				cp, err := s.Checkpoint(ctx)
				if err != nil {
					return nil, fmt.Errorf("bundle: %w", err)
				}
				own = &cp
				addCP(cp)
			}
			n, proof, err := s.Prove(ctx, r.ID(), own)
			if err != nil {
				return nil, fmt.Errorf("bundle: %w", err)
			}
			b.Entries = append(b.Entries, BundleEntry{Receipt: r, Index: n, Proof: proof, CheckpointSize: own.Size})
			continue
		}
		pr, err := s.getProof(ctx, r.ID())
		if err != nil {
			if explicit || !errors.Is(err, ErrNoProof) {
				return nil, fmt.Errorf("bundle: %w", err)
			}
			continue
		}
		addCP(pr.Checkpoint)
		b.Entries = append(b.Entries, BundleEntry{Receipt: r, Index: pr.Index, Proof: pr.Proof, CheckpointSize: pr.Checkpoint.Size})
	}
	nameCheckpoints(b)
	return b, nil
}

// nameCheckpoints keeps CheckpointSize only on the entries of nodes with
// more than one checkpoint in b: elsewhere it adds nothing, and a bundle
// without it (such as a replicated receipt record) reads as before.
func nameCheckpoints(b *Bundle) {
	per := make(map[string]int)
	for i := range b.Checkpoints {
		per[b.Checkpoints[i].NodePubkey]++
	}
	for i := range b.Entries {
		if e := &b.Entries[i]; per[e.Receipt.NodePubkey] < 2 {
			e.CheckpointSize = 0
		}
	}
}

// HasProof reports whether the store can prove the receipt for proposalID:
// it is in this node's log, or an inclusion proof came with it.
func (s *Store) HasProof(ctx context.Context, proposalID string) (bool, error) {
	if !validProposalID(proposalID) {
		return false, nil
	}
	if s.key != nil {
		_, err := s.log.index(ctx, proposalID)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return false, err
		}
	}
	return s.ds.Has(ctx, datastore.RawKey(proofsPrefix+proposalID))
}
