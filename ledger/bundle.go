package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// BundleVersion is the only bundle format version this package handles.
const BundleVersion = 1

// Bundle is a portable set of receipts with the evidence that each was
// logged by the node that countersigned it: the nodes' checkpoints, and per
// receipt its record number in that node's log and an inclusion proof.
// Identities carries the rotation and revocation records of the receipts'
// parties, so the offline fold rates each agent under its current key, as
// the mesh does (FoldLineage); it is omitted when empty, so a bundle
// without it reads as before.
type Bundle struct {
	Version     int              `json:"version"`
	Checkpoints []Checkpoint     `json:"checkpoints"`
	Entries     []BundleEntry    `json:"entries"`
	Identities  []IdentityRecord `json:"identities,omitempty"`
}

// BundleEntry is one receipt of a bundle with its inclusion proof. The
// proof is checked against the bundle's checkpoints by the receipt's node:
// those of log size CheckpointSize if it is set, else all of them (a
// bundle holding one checkpoint per node needs no more).
type BundleEntry struct {
	Receipt Receipt          `json:"receipt"`
	Index   int64            `json:"index"`
	Proof   tlog.RecordProof `json:"proof"`
	// CheckpointSize names the checkpoint that proves the receipt by its
	// log size. A node that learned receipts one by one holds one
	// checkpoint of their origin per receipt; without the name, a verifier
	// would try each entry against most of them.
	CheckpointSize int64 `json:"checkpoint_size,omitempty"`
}

// BadEntry is a bundle entry that failed verification.
type BadEntry struct {
	// Entry is the position in Bundle.Entries.
	Entry      int    `json:"entry"`
	ProposalID string `json:"proposal_id"`
	Reason     string `json:"reason"`
	// Err wraps the sentinel (ErrBadProposalSig, ErrBadProof, ErrConflict…).
	Err error `json:"-"`
}

// BadCheckpoint is a bundle checkpoint whose signature does not verify.
type BadCheckpoint struct {
	Checkpoint int    `json:"checkpoint"` // position in Bundle.Checkpoints
	NodePubkey string `json:"node_pubkey"`
	Reason     string `json:"reason"`
	Err        error  `json:"-"`
}

// BadIdentity is a bundle identity record that failed verification.
type BadIdentity struct {
	Identity int    `json:"identity"` // position in Bundle.Identities
	Reason   string `json:"reason"`
	Err      error  `json:"-"`
}

// Report is the outcome of VerifyBundle.
type Report struct {
	// Entries is len(Bundle.Entries); Receipts the distinct good receipts
	// folded; Duplicates the good entries dropped as identical copies;
	// Unrated how many of the Receipts changed no rating, the gap between
	// Settled and Transactions in Ratings, and UnratedBy the same by reason
	// (UnratedCooldown, UnratedRevoked, UnratedSameAgent).
	Entries        int             `json:"entries"`
	Receipts       int             `json:"receipts"`
	Duplicates     int             `json:"duplicates"`
	Unrated        int             `json:"unrated"`
	UnratedBy      map[string]int  `json:"unrated_by,omitempty"`
	BadCheckpoints []BadCheckpoint `json:"bad_checkpoints"`
	Bad            []BadEntry      `json:"bad"`
	// BadIdentities lists identity records that did not verify; the fold
	// ignores them.
	BadIdentities []BadIdentity `json:"bad_identities,omitempty"`
	// Ratings is the fold of the good receipts, sorted by agent.
	Ratings []AgentRating `json:"ratings"`
	// Table is the same fold, with per-receipt changes.
	Table *Table `json:"-"`
}

// OK reports whether every checkpoint and entry verified.
func (r *Report) OK() bool {
	return len(r.Bad) == 0 && len(r.BadCheckpoints) == 0 && len(r.BadIdentities) == 0
}

// bundleWire is the decoding form of Bundle, so each entry can be decoded
// (and its errors reported) separately.
type bundleWire struct {
	Version     int               `json:"version"`
	Checkpoints []Checkpoint      `json:"checkpoints"`
	Entries     []json.RawMessage `json:"entries"`
	Identities  []IdentityRecord  `json:"identities"`
}

// DecodeBundle parses a bundle in JSON strictly: unknown members, trailing
// data, another version, a malformed receipt, or a bundle over the limits
// of limits.go (entries, checkpoints, declared log sizes, indexes, proof
// lengths, proof checks) are errors wrapping ErrMalformed that name the
// entry or checkpoint. Signatures and proofs are checked by VerifyBundle.
func DecodeBundle(data []byte) (*Bundle, error) {
	var w bundleWire
	if err := decodeStrict(data, &w); err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	if w.Version != BundleVersion {
		return nil, fmt.Errorf("decode bundle: %w: unsupported bundle version %d", ErrMalformed, w.Version)
	}
	if len(w.Entries) > MaxBundleEntries {
		return nil, fmt.Errorf("decode bundle: %w: %d entries, more than the limit of %d", ErrMalformed, len(w.Entries), MaxBundleEntries)
	}
	b := &Bundle{Version: w.Version, Checkpoints: w.Checkpoints, Entries: make([]BundleEntry, len(w.Entries)),
		Identities: normalizeIdentities(w.Identities)}
	for i, raw := range w.Entries {
		e := &b.Entries[i]
		if err := decodeStrict(raw, e); err != nil {
			return nil, fmt.Errorf("decode bundle: entry %d: %w", i, err)
		}
		// An entry without a receipt member never reaches Receipt.UnmarshalJSON.
		if err := e.Receipt.validate(); err != nil {
			return nil, fmt.Errorf("decode bundle: entry %d: receipt: %w", i, err)
		}
	}
	if err := b.bounds(); err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	return b, nil
}

// Encode returns the bundle as compact JSON.
func (b *Bundle) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// VerifyBundle checks a bundle offline: every checkpoint's signature, every
// receipt (Verify), and every inclusion proof against a valid checkpoint by
// the node that countersigned the receipt. Entries are de-duplicated by
// proposal ID (identical copies count once; different receipts for one ID
// are all bad, with ErrConflict). The good receipts are folded into the
// report's ratings. The error is nil only if nothing was bad; otherwise it
// wraps ErrBadBundle and the report lists what failed and why, so a command
// can print the report and exit non-zero.
func VerifyBundle(b *Bundle) (Report, error) {
	if err := b.bounds(); err != nil {
		return Report{Entries: len(b.Entries)}, fmt.Errorf("verify bundle: %w", err)
	}
	rep, _, _ := verifyBundle(b)
	if rep.Table == nil {
		return rep, fmt.Errorf("verify bundle: %w: unsupported bundle version %d", ErrMalformed, b.Version)
	}
	if !rep.OK() {
		return rep, fmt.Errorf("verify bundle: %w: %d of %d entries, %d of %d checkpoints and %d of %d identity records failed",
			ErrBadBundle, len(rep.Bad), rep.Entries, len(rep.BadCheckpoints), len(b.Checkpoints),
			len(rep.BadIdentities), len(b.Identities))
	}
	return rep, nil
}

// provenEntry is a good bundle entry with the checkpoint that proves it.
type provenEntry struct {
	entry *BundleEntry
	cp    *Checkpoint
}

// verifyBundle does VerifyBundle's work and also returns the distinct good
// entries (first of identical copies) and the good identity records for
// Store.Import. For a bundle of another version it returns a report without
// a Table.
func verifyBundle(b *Bundle) (Report, []provenEntry, []IdentityRecord) {
	rep := Report{Entries: len(b.Entries)}
	if b.Version != BundleVersion {
		return rep, nil, nil
	}
	var ids []IdentityRecord
	for i := range b.Identities {
		if err := b.Identities[i].Verify(); err != nil {
			rep.BadIdentities = append(rep.BadIdentities, BadIdentity{Identity: i, Reason: err.Error(), Err: err})
			continue
		}
		ids = append(ids, b.Identities[i])
	}
	byNode := make(map[string][]*Checkpoint)
	for i := range b.Checkpoints {
		cp := &b.Checkpoints[i]
		if err := VerifyCheckpoint(cp); err != nil {
			rep.BadCheckpoints = append(rep.BadCheckpoints, BadCheckpoint{
				Checkpoint: i, NodePubkey: cp.NodePubkey, Reason: err.Error(), Err: err,
			})
			continue
		}
		byNode[cp.NodePubkey] = append(byNode[cp.NodePubkey], cp)
	}

	var good []provenEntry
	positions := make(map[string][]int) // proposal ID → indexes into good
	entryOf := make([]int, 0, len(b.Entries))
	bad := func(i int, err error) {
		rep.Bad = append(rep.Bad, BadEntry{
			Entry: i, ProposalID: b.Entries[i].Receipt.ID(), Reason: err.Error(), Err: err,
		})
	}
	for i := range b.Entries {
		e := &b.Entries[i]
		cp, err := checkEntry(e, byNode[e.Receipt.NodePubkey])
		if err != nil {
			bad(i, err)
			continue
		}
		id := e.Receipt.ID()
		positions[id] = append(positions[id], len(good))
		good = append(good, provenEntry{entry: e, cp: cp})
		entryOf = append(entryOf, i)
	}

	// De-duplicate in entry order, so the report is stable.
	distinct := make([]provenEntry, 0, len(positions))
	var receipts []Receipt
	for gi, pe := range good {
		id := pe.entry.Receipt.ID()
		pos := positions[id]
		if pos[0] != gi {
			continue // handled with its first copy
		}
		first := pe.entry.Receipt.CanonicalJSON()
		conflict := false
		for _, p := range pos[1:] {
			if !bytes.Equal(first, good[p].entry.Receipt.CanonicalJSON()) {
				conflict = true
				break
			}
		}
		if conflict {
			for _, p := range pos {
				bad(entryOf[p], fmt.Errorf("receipt %q: %w: the bundle holds different receipts for it", id, ErrConflict))
			}
			continue
		}
		rep.Duplicates += len(pos) - 1
		distinct = append(distinct, pe)
		receipts = append(receipts, pe.entry.Receipt)
	}
	rep.Table = FoldLineage(receipts, LineageOf(ids))
	rep.Receipts = rep.Table.Receipts()
	rep.Unrated, rep.UnratedBy = rep.Table.Unrated(), rep.Table.UnratedBy()
	rep.Ratings = rep.Table.Ratings()
	return rep, distinct, ids
}

// checkEntry verifies an entry's receipt and finds the checkpoint (among
// the valid ones of its node, of the size it names if it names one) that
// its proof verifies against.
func checkEntry(e *BundleEntry, cps []*Checkpoint) (*Checkpoint, error) {
	if err := Verify(&e.Receipt); err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		return nil, fmt.Errorf("receipt %q: %w: no valid checkpoint by node %.16s…", e.Receipt.ID(), ErrNoProof, e.Receipt.NodePubkey)
	}
	leaf := tlog.RecordHash(e.Receipt.CanonicalJSON()) // once, not per checkpoint
	last := fmt.Errorf("%w: no valid checkpoint of size %d by node %.16s…", ErrNoProof, e.CheckpointSize, e.Receipt.NodePubkey)
	for _, cp := range cps {
		if e.CheckpointSize != 0 && cp.Size != e.CheckpointSize {
			continue
		}
		err := cp.checkLeaf(e.Receipt.NodePubkey, e.Index, e.Proof, leaf)
		if err == nil {
			return cp, nil
		}
		last = err
	}
	return nil, fmt.Errorf("receipt %q: %w", e.Receipt.ID(), last)
}
