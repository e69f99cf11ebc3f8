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

// normalize gives empty lists the one form Encode writes (absent), so a
// decoded record re-encodes and decodes to an equal value.
func (r *IdentityRecord) normalize() {
	if r.Revocation != nil && len(r.Revocation.Rotations) == 0 {
		r.Revocation.Rotations = nil
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

// Verify checks the record's shape, signature and timestamps. A rotation
// must be signed by its old key; a revocation by the key it revokes, with
// a valid chain if it carries one. Errors wrap ErrMalformed or
// ErrBadIdentity.
func (r *IdentityRecord) Verify() error {
	switch {
	case (r.Rotation == nil) == (r.Revocation == nil):
		return fmt.Errorf("identity record: %w: want exactly one of rotation and revocation", ErrMalformed)
	case r.Rotation != nil:
		rot := r.Rotation
		if err := identity.VerifyChain([]identity.Rotation{*rot}, rot.NewPubkey); err != nil {
			return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
		}
		if _, err := identity.RecordTime(rot.Timestamp); err != nil {
			return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
		}
		return nil
	}
	v := r.Revocation
	if err := identity.VerifyRevocation(v); err != nil {
		return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
	}
	for _, ts := range append([]string{v.Timestamp}, timestamps(v.Rotations)...) {
		if _, err := identity.RecordTime(ts); err != nil {
			return fmt.Errorf("identity record: %w: %w", ErrBadIdentity, err)
		}
	}
	return nil
}

func timestamps(rs []identity.Rotation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Timestamp
	}
	return out
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

// RecordsFor returns the records (of recs, whose lineage is lin) that
// concern any key of the agents that are parties of receipts, and, to a
// fixed point, every record that concerns a key of those: what a bundle of
// the receipts must carry so its offline fold names the same agents, and
// drops the same revoked receipts, as the node's (a record that lost a race
// for a key is only lost offline too if the winner travels with it). The
// result is sorted by ID.
func RecordsFor(recs []IdentityRecord, lin *identity.Lineage, receipts []Receipt) []IdentityRecord {
	keys := map[string]bool{}
	for _, r := range receipts {
		for _, id := range []string{r.Proposal.From, r.Proposal.To} {
			for _, k := range lin.Keys(strings.TrimPrefix(id, "@")) {
				keys[k] = true
			}
		}
	}
	taken := make([]bool, len(recs))
	var out []IdentityRecord
	for grew := true; grew; {
		grew = false
		for i := range recs {
			if taken[i] || !slices.ContainsFunc(recs[i].keys(), func(k string) bool { return keys[k] }) {
				continue
			}
			taken[i], grew = true, true
			out = append(out, recs[i])
			for _, k := range recs[i].keys() {
				keys[k] = true
			}
		}
	}
	slices.SortFunc(out, func(a, b IdentityRecord) int { return strings.Compare(a.ID(), b.ID()) })
	return out
}
