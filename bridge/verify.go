package bridge

import (
	"crypto/sha256"
	"fmt"
	"strconv"

	"github.com/agentchat/mesh/identity"
)

// verifyAgent checks that origin may speak for agent a: a keyed agent needs
// a session proof whose nonce derives from origin's key and which a's key
// signed; an ephemeral agent carries no proof and cannot be verified.
func verifyAgent(origin string, a *agentWire) error {
	if a.ID == "" {
		return fmt.Errorf("%w: agent without ID", ErrMalformed)
	}
	if a.Pubkey == "" {
		if a.Proof != nil || a.Verified {
			return fmt.Errorf("%w: ephemeral agent %s claims a proof", ErrBadProof, a.ID)
		}
		return nil
	}
	p := a.Proof
	if p == nil {
		return fmt.Errorf("%w: agent %s has no proof", ErrBadProof, a.ID)
	}
	if identity.AgentID(a.Pubkey) != a.ID {
		return fmt.Errorf("%w: ID %s does not match its key", ErrBadProof, a.ID)
	}
	pub, err := identity.ParsePublicPEM(a.Pubkey)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadProof, err)
	}
	nodeKey, err := peerKey(origin)
	if err != nil {
		return fmt.Errorf("%w: origin key: %v", ErrBadProof, err)
	}
	if !identity.CheckBoundNonce(nodeKey, p.Salt, p.Nonce) {
		return fmt.Errorf("%w: agent %s authenticated to another node", ErrNotHost, a.ID)
	}
	if !identity.VerifyChallenge(pub, p.Nonce, p.ChallengeID, p.Timestamp, p.Signature) {
		return fmt.Errorf("%w: agent %s signature", ErrBadProof, a.ID)
	}
	return nil
}

// checkAuthor decides whether node origin may speak for author: a keyed
// author needs a proof binding it to origin; an ephemeral one has no proof
// and belongs to whichever node the roster says hosts it.
func (b *Bridge) checkAuthor(origin string, author *agentWire) error {
	if err := b.verifyCached(origin, author); err != nil {
		return err
	}
	if author.Pubkey != "" {
		return nil
	}
	if _, host, ok := b.srv.RemoteHost(author.ID); ok && host != origin {
		return fmt.Errorf("%w: ephemeral %s is hosted by %s", ErrNotHost, author.ID, short(host))
	}
	if _, local := b.srv.LocalAgent(author.ID); local && origin != b.host.ID() {
		return fmt.Errorf("%w: ephemeral %s is hosted here", ErrNotHost, author.ID)
	}
	return nil
}

// verifyCached is verifyAgent with a cache of proofs already checked, so a
// chatty agent costs one signature check, not one per message.
func (b *Bridge) verifyCached(origin string, a *agentWire) error {
	if a.Proof == nil {
		return verifyAgent(origin, a)
	}
	key := proofKey(origin, a)
	b.proofMu.Lock()
	ok := b.proofs[key]
	b.proofMu.Unlock()
	if ok {
		return nil
	}
	if err := verifyAgent(origin, a); err != nil {
		return err
	}
	b.proofMu.Lock()
	if len(b.proofs) > 100_000 {
		clear(b.proofs)
	}
	b.proofs[key] = true
	b.proofMu.Unlock()
	return nil
}

// proofKey names everything verifyAgent checked for a, so a cached verdict
// is reused only for the same claim: a record that keeps an agent's proof
// but swaps its key (a node answering for an agent it hosts with its own
// key) is checked afresh, and refused.
func proofKey(origin string, a *agentWire) string {
	p := a.Proof
	h := sha256.New()
	for _, field := range []string{origin, a.ID, a.Pubkey, p.ChallengeID, p.Nonce, string(p.Salt),
		strconv.FormatFloat(p.Timestamp, 'g', -1, 64), p.Signature} {
		fmt.Fprintf(h, "%d:%s", len(field), field)
	}
	return string(h.Sum(nil))
}
