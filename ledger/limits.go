package ledger

import (
	"fmt"
	"slices"
)

// Bundle size limits. A bundle is checked against them before any
// signature or proof is, so one that declares more than it carries (a log
// of 2^62 records, a proof deeper than any log, more entries or
// checkpoints than a node would export, more proof checks than its entries
// could need) is refused at once instead of costing its verifier seconds —
// or, for a log size over 2^62, forever: tlog's proof walk does not end for
// such a tree. docs/marketplace.md "Bundle limits" lists them.
const (
	// MaxLogSize is the largest receipt log a checkpoint may declare:
	// 2^40 records, some 10^12 settlements by one node.
	MaxLogSize = 1 << 40
	// maxProofLen is the depth of a log of MaxLogSize records: an
	// inclusion proof holds one hash per level.
	maxProofLen = 40
	// MaxBundleEntries bounds the receipts of one bundle. Over HTTP the
	// 64 MiB body limit binds first (a receipt is over 1 KiB).
	MaxBundleEntries = 1 << 17
	// MaxBundleCheckpoints bounds the checkpoints of one bundle: one per
	// entry at most, which is what a node that learned an origin's
	// receipts one at a time holds (each came with its own checkpoint).
	MaxBundleCheckpoints = MaxBundleEntries
	// MaxBundleIdentityKeys bounds the identity records of one bundle,
	// counting each rotation a revocation carries (each is a signature
	// to check).
	MaxBundleIdentityKeys = 1 << 12
	// MaxProofChecks bounds the inclusion-proof runs verifying a bundle
	// may need: each entry is tried against the checkpoints of its node
	// of the size it names, or, if it names none, whose log could hold
	// its index. About a second of hashing at most.
	MaxProofChecks = 1 << 20
)

// bounds checks a bundle against the limits above, cheaply: counts, and
// per entry binary searches over its node's checkpoint sizes, and the
// identity records with the rotations they carry. Errors wrap
// ErrMalformed.
func (b *Bundle) bounds() error {
	switch {
	case len(b.Entries) > MaxBundleEntries:
		return fmt.Errorf("%w: %d entries, more than the limit of %d", ErrMalformed, len(b.Entries), MaxBundleEntries)
	case len(b.Checkpoints) > MaxBundleCheckpoints:
		return fmt.Errorf("%w: %d checkpoints, more than the limit of %d", ErrMalformed, len(b.Checkpoints), MaxBundleCheckpoints)
	}
	if keys := signedKeys(b.Identities); keys > MaxBundleIdentityKeys {
		return fmt.Errorf("%w: %d identity records and chained rotations, more than the limit of %d",
			ErrMalformed, keys, MaxBundleIdentityKeys)
	}
	sizes := make(map[string][]int64) // node → sorted checkpoint sizes
	for i := range b.Checkpoints {
		cp := &b.Checkpoints[i]
		if cp.Size < 0 || cp.Size > MaxLogSize {
			return fmt.Errorf("%w: checkpoint %d declares a log of %d records (limit %d)", ErrMalformed, i, cp.Size, int64(MaxLogSize))
		}
		sizes[cp.NodePubkey] = append(sizes[cp.NodePubkey], cp.Size)
	}
	for _, s := range sizes {
		slices.Sort(s)
	}
	checks := 0
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Index < 0 || e.Index >= MaxLogSize || len(e.Proof) > maxProofLen {
			return fmt.Errorf("%w: entry %d: index %d or proof of %d hashes out of range (limit %d, %d)",
				ErrMalformed, i, e.Index, len(e.Proof), int64(MaxLogSize), maxProofLen)
		}
		if e.CheckpointSize < 0 || e.CheckpointSize > MaxLogSize || (e.CheckpointSize != 0 && e.CheckpointSize <= e.Index) {
			return fmt.Errorf("%w: entry %d: checkpoint size %d cannot hold index %d (limit %d)",
				ErrMalformed, i, e.CheckpointSize, e.Index, int64(MaxLogSize))
		}
		s := sizes[e.Receipt.NodePubkey]
		// Only checkpoints of a log longer than the index can prove it;
		// of those, only the ones of the size the entry names, if any.
		lo, _ := slices.BinarySearch(s, e.Index+1)
		hi := len(s)
		if e.CheckpointSize != 0 {
			lo, _ = slices.BinarySearch(s, e.CheckpointSize)
			hi, _ = slices.BinarySearch(s, e.CheckpointSize+1)
		}
		if checks += hi - lo; checks > MaxProofChecks {
			return fmt.Errorf("%w: verifying would take over %d proof checks (entries × their nodes' checkpoints)",
				ErrMalformed, MaxProofChecks)
		}
	}
	return nil
}
