package ledger

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/agentchat/mesh/identity"
)

// Verify checks a receipt with public keys only:
//
//   - its shape (ErrMalformed; ErrNotParty when outcome.by is neither party);
//   - that from and to are the agent IDs of FromPubkey and ToPubkey
//     (ErrKeyMismatch);
//   - the proposal signature by the proposer over the PROPOSAL string
//     (ErrBadProposalSig);
//   - the accept signature by the recipient over the ACCEPT string
//     (ErrBadAcceptSig);
//   - the outcome signature by the party named in outcome.by over the
//     COMPLETE or DISPUTE string, or for a verdict the DISPUTE_INTENT and
//     DISPUTE_REVEAL strings and every arbiter's vote (ErrBadOutcomeSig);
//   - the node countersignature over SigningBytes (ErrBadCountersig).
//
// Every error names the receipt and wraps one of those sentinels. Agent
// signatures are decoded as leniently as deployed servers accept them
// (identity.Verify); the node signature must be canonical base64.
func Verify(r *Receipt) error {
	if err := verify(r); err != nil {
		return fmt.Errorf("receipt %q: %w", r.ID(), err)
	}
	return nil
}

func verify(r *Receipt) error {
	if err := r.validate(); err != nil {
		return err
	}
	if r.NodeSig == "" {
		return fmt.Errorf("%w: node_sig is missing", ErrMalformed)
	}
	p, a, o := &r.Proposal, &r.Accept, &r.Outcome
	fromKey, err := partyKey(r.FromPubkey, p.From, "from")
	if err != nil {
		return err
	}
	toKey, err := partyKey(r.ToPubkey, p.To, "to")
	if err != nil {
		return err
	}
	if !identity.Verify(fromKey, p.SigningString(), p.Sig) {
		return ErrBadProposalSig
	}
	if !identity.Verify(toKey, a.SigningString(p.ProposalID), a.Sig) {
		return ErrBadAcceptSig
	}
	byKey := fromKey // validate guarantees By is From or To
	if o.By == p.To {
		byKey = toKey
	}
	if !identity.Verify(byKey, o.SigningString(p.ProposalID), o.Sig) {
		return fmt.Errorf("%w (by %s)", ErrBadOutcomeSig, o.By)
	}
	if o.Kind == KindVerdict {
		if err := verifyCourt(r, byKey); err != nil {
			return err
		}
	}
	nodeKey, err := hex.DecodeString(r.NodePubkey)
	if err != nil || len(nodeKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: node_pubkey", ErrMalformed)
	}
	sig, ok := decodeNodeSig(r.NodeSig)
	if !ok || !ed25519.Verify(nodeKey, r.SigningBytes(), sig) {
		return ErrBadCountersig
	}
	return nil
}

// partyKey parses a party's PEM and checks that it hashes to the agent ID
// the receipt names for that party.
func partyKey(pem, atID, role string) (ed25519.PublicKey, error) {
	if agentID(pem) != atID {
		return nil, fmt.Errorf("%w: %s_pubkey hashes to %s, not %s", ErrKeyMismatch, role, agentID(pem), atID)
	}
	key, err := identity.ParsePublicPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("%w: %s_pubkey: %w", ErrMalformed, role, err)
	}
	return key, nil
}
