package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/agentchat/mesh/identity"
)

// IdentityRecord is one signed record the fold depends on besides
// receipts: a key rotation (PROTOCOL.md §3.4) or a revocation notice
// (§3.5). Exactly one member is set. The mesh replicates them and bundles
// carry them, so a rotated agent keeps its rating and a revoked key's later
// receipts stop counting on every node and offline alike (FoldLineage).
type IdentityRecord struct {
	Rotation   *identity.Rotation   `json:"rotation,omitempty"`
	Revocation *identity.Revocation `json:"revocation,omitempty"`
}

// DecodeIdentityRecord parses one record strictly (unknown members,
// trailing data and a record that is not exactly one of the two kinds wrap
// ErrMalformed) and verifies it (ErrBadIdentity).
func DecodeIdentityRecord(data []byte) (IdentityRecord, error) {
	var r IdentityRecord
	if err := decodeStrict(data, &r); err != nil {
		return IdentityRecord{}, fmt.Errorf("decode identity record: %w", err)
	}
	if err := r.Verify(); err != nil {
		return IdentityRecord{}, err
	}
	r.normalize()
	return r, nil
}

// normalize gives a record the one form Encode writes, so a decoded record
// re-encodes and decodes to an equal value and, since ID hashes the
// encoding, so that the fields outside every signature cannot be
// re-spelled into another ID: an empty list is absent, a revocation's
// fingerprint repeats its agent ID and its original agent ID is set exactly
// when it carries a chain. Call it on verified records.
func (r *IdentityRecord) normalize() {
	v := r.Revocation
	if v == nil {
		return
	}
	if len(v.Rotations) == 0 {
		v.Rotations = nil
	}
	v.Fingerprint, v.OriginalAgentID = v.AgentID, ""
	if len(v.Rotations) > 0 {
		v.OriginalAgentID = identity.OriginalAgentID(v.Rotations, v.Pubkey)
	}
}

// normalizeIdentities normalizes a bundle's records; none is nil.
func normalizeIdentities(recs []IdentityRecord) []IdentityRecord {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		recs[i].normalize()
	}
	return recs
}

// Verify checks the record's shape, signatures and timestamps. A rotation
// must be signed by its old key and countersigned by its new key (the mesh
// links keys only on both; identity.Lineage); a revocation by the key it
// revokes, with a valid chain if it carries one, whose countersigned
// rotations all follow its uncountersigned ones (those written by a client
// that does not countersign). Every signature must be in canonical form
// (identity.CanonicalSignature), since ID covers them. Errors wrap
// ErrMalformed or ErrBadIdentity.
func (r *IdentityRecord) Verify() error {
	switch {
	case (r.Rotation == nil) == (r.Revocation == nil):
		return fmt.Errorf("identity record: %w: want exactly one of rotation and revocation", ErrMalformed)
	case r.Rotation != nil:
		rot := r.Rotation
		if err := identity.VerifyCountersign(rot); err != nil {
			return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
		}
		return verifyRotations([]identity.Rotation{*rot}, rot.NewPubkey)
	}
	v := r.Revocation
	if !identity.CanonicalSignature(v.Signature) {
		return fmt.Errorf("identity record: %w: signature is not canonical base64", ErrBadIdentity)
	}
	if err := identity.VerifyRevocation(v); err != nil {
		return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
	}
	if _, err := identity.RecordTime(v.Timestamp); err != nil {
		return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
	}
	for i := 1; i < len(v.Rotations); i++ {
		if v.Rotations[i-1].NewSignature != "" && v.Rotations[i].NewSignature == "" {
			return fmt.Errorf("identity record: %w: rotation %d of the chain is not countersigned but an earlier one is",
				ErrBadIdentity, i)
		}
	}
	return verifyRotations(v.Rotations, v.Pubkey)
}

// verifyRotations checks a chain ending at pubkey, its timestamps, and
// that its signatures are canonical.
func verifyRotations(rs []identity.Rotation, pubkey string) error {
	if err := identity.VerifyChain(rs, pubkey); err != nil {
		return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
	}
	for i := range rs {
		r := &rs[i]
		if !identity.CanonicalSignature(r.Signature) || (r.NewSignature != "" && !identity.CanonicalSignature(r.NewSignature)) {
			return fmt.Errorf("identity record: %w: rotation to %s: signature is not canonical base64", ErrBadIdentity, r.NewAgentID)
		}
		if _, err := identity.RecordTime(r.Timestamp); err != nil {
			return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
		}
	}
	return nil
}

// Encode returns the record as compact JSON, the form stored and gossiped.
func (r *IdentityRecord) Encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r) // plain strings and slices: cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ID names the record: hex SHA-256 of its encoding, truncated to 32
// characters. Equal records have equal IDs.
func (r *IdentityRecord) ID() string {
	h := sha256.Sum256(r.Encode())
	return hex.EncodeToString(h[:16])
}

// keys returns the agent IDs a record is about.
func (r *IdentityRecord) keys() []string {
	if r.Rotation != nil {
		return []string{r.Rotation.OldAgentID, r.Rotation.NewAgentID}
	}
	keys := []string{r.Revocation.AgentID}
	for _, rot := range r.Revocation.Rotations {
		keys = append(keys, rot.OldAgentID)
	}
	return keys
}

// LineageOf builds the lineage of verified records.
func LineageOf(recs []IdentityRecord) *identity.Lineage {
	var rots []identity.Rotation
	var revs []identity.Revocation
	for _, r := range recs {
		if r.Rotation != nil {
			rots = append(rots, *r.Rotation)
		} else {
			revs = append(revs, *r.Revocation)
		}
	}
	return identity.NewLineage(rots, revs)
}

// Identities is a set of verified identity records with their lineage,
// indexed for export: a node builds it once when its records change
// (NewIdentities) rather than on every export. It is immutable.
type Identities struct {
	recs  []IdentityRecord
	lin   *identity.Lineage
	byKey map[string][]int // key → the records that took effect and name it
}

// NewIdentities builds the set of verified records recs (recs is kept,
// not copied; the caller does not modify it).
func NewIdentities(recs []IdentityRecord) *Identities {
	var rots []identity.Rotation
	var revs []identity.Revocation
	var rotOf, revOf []int // position in recs
	for i, r := range recs {
		if r.Rotation != nil {
			rots, rotOf = append(rots, *r.Rotation), append(rotOf, i)
		} else {
			revs, revOf = append(revs, *r.Revocation), append(revOf, i)
		}
	}
	lin, rotUsed, revUsed := identity.BuildLineage(rots, revs)
	s := &Identities{recs: recs, lin: lin, byKey: map[string][]int{}}
	index := func(used []bool, of []int) {
		for j, u := range used {
			if !u {
				continue
			}
			for _, k := range recs[of[j]].keys() {
				s.byKey[k] = append(s.byKey[k], of[j])
			}
		}
	}
	index(rotUsed, rotOf)
	index(revUsed, revOf)
	return s
}

// Records returns the records of the set.
func (s *Identities) Records() []IdentityRecord { return s.recs }

// Lineage returns the lineage of the set's records.
func (s *Identities) Lineage() *identity.Lineage { return s.lin }

// For returns what a bundle of the receipts must carry so that its offline
// fold names the same agents, and drops the same revoked receipts, as the
// set's lineage: the records that took effect (identity.BuildLineage) on a
// key of the receipts' parties' agents, and, to a fixed point, those that
// took effect on a key such a record names (a rotation of a carried
// revocation's chain that lost a race for a key is only lost offline too if
// the winner travels with it). Records that took no effect are left out, so
// records anyone can sign about a key, but that change nothing, cannot
// grow an agent's bundle. The result is sorted by ID.
func (s *Identities) For(receipts []Receipt) []IdentityRecord {
	seen := map[string]bool{}
	var queue []string
	push := func(k string) {
		if !seen[k] {
			seen[k] = true
			queue = append(queue, k)
		}
	}
	for _, r := range receipts {
		for _, id := range []string{r.Proposal.From, r.Proposal.To} {
			for _, k := range s.lin.Keys(strings.TrimPrefix(id, "@")) {
				push(k)
			}
		}
	}
	taken := map[int]bool{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, i := range s.byKey[k] {
			if taken[i] {
				continue
			}
			taken[i] = true
			for _, k2 := range s.recs[i].keys() {
				push(k2)
			}
		}
	}
	type named struct {
		id  string
		rec IdentityRecord
	}
	byID := make([]named, 0, len(taken))
	for i := range taken {
		byID = append(byID, named{s.recs[i].ID(), s.recs[i]})
	}
	slices.SortFunc(byID, func(a, b named) int { return strings.Compare(a.id, b.id) })
	out := make([]IdentityRecord, len(byID))
	for i := range byID {
		out[i] = byID[i].rec
	}
	return out
}

// signedKeys counts what MaxBundleIdentityKeys bounds: the records, and
// the rotations the revocations among them carry.
func signedKeys(recs []IdentityRecord) int {
	n := len(recs)
	for i := range recs {
		if rv := recs[i].Revocation; rv != nil {
			n += len(rv.Rotations)
		}
	}
	return n
}
