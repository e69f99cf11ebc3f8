package bridge

import (
	"testing"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/p2p"
	"github.com/stretchr/testify/require"
)

// A node hosting agent B answered for B with B's real session proof but its
// own key in place of B's; with the cache keyed by the proof alone the
// cached verdict for B's record vouched for the swapped one, and a remote
// VERIFY_REQUEST reported VERIFY_SUCCESS under the node's key.
func TestProofCacheDoesNotVouchForASwappedKey(t *testing.T) {
	nodePub, _, err := identity.GenerateKey()
	require.NoError(t, err)
	origin, err := p2p.PeerIDFromKey(nodePub)
	require.NoError(t, err)
	agentPub, agentPriv, err := identity.GenerateKey()
	require.NoError(t, err)
	otherPub, _, err := identity.GenerateKey()
	require.NoError(t, err)

	nonce, salt := identity.NewBoundNonce(nodePub)
	const challenge, ts = "challenge-1", 1700000000000.0
	pem := identity.EncodePublicPEM(agentPub)
	proof := &node.SessionProof{ChallengeID: challenge, Nonce: nonce, Salt: salt, Timestamp: ts,
		Signature: identity.SignChallenge(agentPriv, nonce, challenge, ts)}
	real := agentWire{ID: identity.AgentID(pem), Name: "b", Pubkey: pem, Proof: proof}

	b := &Bridge{proofs: map[string]bool{}}
	require.NoError(t, b.verifyCached(origin, &real), "the agent's own record verifies")
	require.NoError(t, b.verifyCached(origin, &real), "and again from the cache")

	swapped := real
	swapped.Pubkey = identity.EncodePublicPEM(otherPub)
	require.ErrorIs(t, b.verifyCached(origin, &swapped), ErrBadProof, "the same proof under another key")
	require.ErrorIs(t, verifyAgent(origin, &swapped), ErrBadProof, "as verifyAgent alone says")

	moved := real
	otherOrigin, err := p2p.PeerIDFromKey(otherPub)
	require.NoError(t, err)
	require.Error(t, b.verifyCached(otherOrigin, &moved), "the same record from another node")
}
