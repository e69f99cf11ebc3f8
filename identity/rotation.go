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
}

// Rotate returns a copy of f with a fresh key pair and a rotation record,
// signed by the current key, appended to its chain. Name and Created carry
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
	next.Rotations = append(slices.Clone(f.Rotations), rec)
	return next, nil
}

// VerifyChain checks a rotation chain against the key currently in use
// (PROTOCOL.md §3.4): every record is signed by its old key, each record
// starts where the previous one ended, and the last one ends at
// currentPubkey. Keys are compared as exact PEM text, like agent IDs. The
// recorded agent IDs are not signed, so they are checked against their keys
// too. An empty chain is valid: the identity never rotated.
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
