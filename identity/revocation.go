package identity

import (
	"fmt"
	"slices"
	"time"

	"github.com/agentchat/mesh/protocol"
)

// RevocationType is the type field of every revocation notice.
const RevocationType = "REVOCATION"

// defaultReason is what the original client signs when no reason is given.
const defaultReason = "revoked"

// Revocation is a notice, signed by the key it revokes, that the key must no
// longer be trusted (PROTOCOL.md §3.5). Field order follows the original
// client's output.
type Revocation struct {
	Type    string `json:"type"`
	Pubkey  string `json:"pubkey"`
	AgentID string `json:"agent_id"`
	// Fingerprint repeats AgentID; the original CLI shows keys by this name.
	Fingerprint string `json:"fingerprint"`
	Reason      string `json:"reason"`
	// Timestamp is ISO-8601 and part of the signed string.
	Timestamp string `json:"timestamp"`
	// Signature is over protocol.RevocationSigningString; Fingerprint,
	// Rotations and OriginalAgentID are outside it.
	Signature string `json:"signature"`
	// Rotations and OriginalAgentID let a reader revoke the whole history of
	// a rotated identity, not just its last key.
	Rotations       []Rotation `json:"rotations,omitempty"`
	OriginalAgentID string     `json:"original_agent_id,omitempty"`
}

// Revoke returns a revocation notice for f's current key, signed by that
// key. An empty reason becomes "revoked", as in the original client.
func (f *File) Revoke(reason string, now time.Time) (*Revocation, error) {
	priv, err := f.signer()
	if err != nil {
		return nil, fmt.Errorf("revoke identity %s: %w", f.AgentID, err)
	}
	if reason == "" {
		reason = defaultReason
	}
	id := AgentID(f.PublicKey)
	ts := now.UTC().Format(isoMillis)
	r := &Revocation{
		Type:        RevocationType,
		Pubkey:      f.PublicKey,
		AgentID:     id,
		Fingerprint: id,
		Reason:      reason,
		Timestamp:   ts,
		Signature:   Sign(priv, protocol.RevocationSigningString(f.PublicKey, id, reason, ts)),
	}
	if len(f.Rotations) > 0 {
		r.Rotations = slices.Clone(f.Rotations)
		r.OriginalAgentID = OriginalAgentID(f.Rotations, f.PublicKey)
	}
	return r, nil
}

// VerifyRevocation checks that r is a revocation notice signed by the key it
// names. It is stricter than the original client, which checked only the
// type and signature: the unsigned fields (agent ID, fingerprint, rotation
// chain, original ID) must also agree with the key, so a relayed notice
// cannot be edited to point at another agent.
func VerifyRevocation(r *Revocation) error {
	if r == nil || r.Type != RevocationType {
		return fmt.Errorf("verify revocation: %w", ErrNotRevocation)
	}
	pub, err := ParsePublicPEM(r.Pubkey)
	if err != nil {
		return fmt.Errorf("verify revocation: %w", err)
	}
	id := AgentID(r.Pubkey)
	// An absent fingerprint is tolerated: it only ever repeats agent_id.
	if r.AgentID != id || (r.Fingerprint != "" && r.Fingerprint != id) {
		return fmt.Errorf("verify revocation of %s: %w", id, ErrAgentIDMismatch)
	}
	if !Verify(pub, protocol.RevocationSigningString(r.Pubkey, r.AgentID, r.Reason, r.Timestamp), r.Signature) {
		return fmt.Errorf("verify revocation of %s: %w", id, ErrBadSignature)
	}
	if err := VerifyChain(r.Rotations, r.Pubkey); err != nil {
		return fmt.Errorf("verify revocation of %s: %w", id, err)
	}
	if r.OriginalAgentID != "" && r.OriginalAgentID != OriginalAgentID(r.Rotations, r.Pubkey) {
		return fmt.Errorf("verify revocation of %s: original id: %w", id, ErrAgentIDMismatch)
	}
	return nil
}
