package identity

import (
	"fmt"
	"slices"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// Rotation records that the key OldPubkey handed over to NewPubkey
// (PROTOCOL.md §3.4). Field order follows the original client's files.
type Rotation struct {
	OldPubkey  string `json:"old_pubkey"`
	OldAgentID string `json:"old_agent_id"`
	NewPubkey  string `json:"new_pubkey"`
	NewAgentID string `json:"new_agent_id"`
	// Signature is by the old key over protocol.RotationSigningString.
	Signature string `json:"signature"`
	// Timestamp is ISO-8601 and part of the signed string.
	Timestamp string `json:"timestamp"`
	// NewSignature is by the new key over RotationAcceptString: the new
	// key's consent to succeed the old one. It is not part of §3.4 (the
	// original client neither writes nor reads it), but the mesh links two
	// keys only on it: a record signed by the old key alone could name any
	// key as its successor and take over that key's rating.
	NewSignature string `json:"new_signature,omitempty"`
}

// rotationAcceptPrefix keeps the countersigned text apart from every other
// signed string.
const rotationAcceptPrefix = "AGENTCHAT_ROTATION_ACCEPT_V1|"

// RotationAcceptString returns the text the new key signs to accept a
// rotation: the §3.4 signed text behind a prefix of its own.
func RotationAcceptString(oldPubkey, newPubkey, timestamp string) string {
	return rotationAcceptPrefix + protocol.RotationSigningString(oldPubkey, newPubkey, timestamp)
}

// Countersign sets r.NewSignature with f's key, which must be r's new key:
// the current key of a rotated identity can accept its last rotation at any
// time, so a chain written by a client that does not countersign can still
// be linked on the mesh.
func (f *File) Countersign(r *Rotation) error {
	priv, err := f.signer()
	if err != nil {
		return fmt.Errorf("countersign rotation to %s: %w", r.NewAgentID, err)
	}
	if r.NewPubkey != f.PublicKey {
		return fmt.Errorf("countersign rotation to %s with %s: %w", r.NewAgentID, f.AgentID, ErrNotCurrentKey)
	}
	r.NewSignature = Sign(priv, RotationAcceptString(r.OldPubkey, r.NewPubkey, r.Timestamp))
	return nil
}

// VerifyCountersign checks that r carries a valid signature by its new key
// (NewSignature).
func VerifyCountersign(r *Rotation) error {
	if r.NewSignature == "" {
		return fmt.Errorf("rotation to %s: %w", r.NewAgentID, ErrNoCountersign)
	}
	pub, err := ParsePublicPEM(r.NewPubkey)
	if err != nil {
		return fmt.Errorf("rotation to %s: new key: %w", r.NewAgentID, err)
	}
	if !Verify(pub, RotationAcceptString(r.OldPubkey, r.NewPubkey, r.Timestamp), r.NewSignature) {
		return fmt.Errorf("rotation to %s: countersignature: %w", r.NewAgentID, ErrBadSignature)
	}
	return nil
}

// Rotate returns a copy of f with a fresh key pair and a rotation record,
// signed by the current key and countersigned by the new one, appended to
// its chain. Name and Created carry
// over because they describe the identity, not the key. f is not modified;
// the caller saves the result (the agent ID changes with the key).
func (f *File) Rotate(now time.Time) (*File, error) {
	oldPriv, err := f.signer()
	if err != nil {
		return nil, fmt.Errorf("rotate identity %s: %w", f.AgentID, err)
	}
	pub, priv, err := GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("rotate identity %s: %w", f.AgentID, err)
	}
	next := fromKeys(pub, priv)
	next.Name, next.Created = f.Name, f.Created
	ts := now.UTC().Format(isoMillis)
	rec := Rotation{
		OldPubkey:  f.PublicKey,
		OldAgentID: AgentID(f.PublicKey),
		NewPubkey:  next.PublicKey,
		NewAgentID: next.AgentID,
		Signature:  Sign(oldPriv, protocol.RotationSigningString(f.PublicKey, next.PublicKey, ts)),
		Timestamp:  ts,
	}
	if err := next.Countersign(&rec); err != nil {
		return nil, fmt.Errorf("rotate identity %s: %w", f.AgentID, err)
	}
	next.Rotations = append(slices.Clone(f.Rotations), rec)
	return next, nil
}

// VerifyChain checks a rotation chain against the key currently in use
// (PROTOCOL.md §3.4): every record is signed by its old key, each record
// starts where the previous one ended, and the last one ends at
// currentPubkey. Keys are compared as exact PEM text, like agent IDs. The
// recorded agent IDs are not signed, so they are checked against their keys
// too. A countersignature is optional, but checked where present. An
// empty chain is valid: the identity never rotated.
func VerifyChain(rotations []Rotation, currentPubkey string) error {
	for i, r := range rotations {
		if i > 0 && r.OldPubkey != rotations[i-1].NewPubkey {
			return fmt.Errorf("verify rotation %d: %w", i, ErrBrokenChain)
		}
		if r.OldAgentID != AgentID(r.OldPubkey) || r.NewAgentID != AgentID(r.NewPubkey) {
			return fmt.Errorf("verify rotation %d: %w", i, ErrAgentIDMismatch)
		}
		old, err := ParsePublicPEM(r.OldPubkey)
		if err != nil {
			return fmt.Errorf("verify rotation %d: old key: %w", i, err)
		}
		if !Verify(old, protocol.RotationSigningString(r.OldPubkey, r.NewPubkey, r.Timestamp), r.Signature) {
			return fmt.Errorf("verify rotation %d: %w", i, ErrBadSignature)
		}
		if r.NewSignature != "" {
			if err := VerifyCountersign(&rotations[i]); err != nil {
				return fmt.Errorf("verify rotation %d: %w", i, err)
			}
		}
	}
	if n := len(rotations); n > 0 && rotations[n-1].NewPubkey != currentPubkey {
		return fmt.Errorf("verify rotation chain: %w", ErrNotCurrentKey)
	}
	return nil
}

// OriginalAgentID is the agent ID the identity had before its first
// rotation, or the current one if it never rotated. It trusts the chain;
// run VerifyChain first.
func OriginalAgentID(rotations []Rotation, currentPubkey string) string {
	if len(rotations) == 0 {
		return AgentID(currentPubkey)
	}
	return AgentID(rotations[0].OldPubkey)
}
