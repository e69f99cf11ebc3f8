package market_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
)

// fileOf is a party's key as an identity file, so it can rotate and revoke.
func fileOf(p *party) *identity.File {
	pub := p.priv.Public().(ed25519.PublicKey)
	return &identity.File{PublicKey: identity.EncodePublicPEM(pub), PrivateKey: identity.EncodePrivatePEM(p.priv), AgentID: p.ID}
}

// A receipt record (what gossip and reconciliation carry) may not carry
// identity records: stored on the side, a record was taken for known by
// the identity set and never folded, so a peer could suppress a rotation
// or revocation that way. Refused, it still folds when it arrives through
// the identity set.
func TestReceiptRecordCarriesNoIdentityRecords(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	settle(t, a, b, false)
	resp, err := http.Get(e.node.HTTP() + "/receipts")
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	bundle, err := ledger.DecodeBundle(data)
	require.NoError(t, err)
	require.Len(t, bundle.Entries, 1)

	carol, err := identity.New("carol")
	require.NoError(t, err)
	next, err := carol.Rotate(time.Now())
	require.NoError(t, err)
	rec := ledger.IdentityRecord{Rotation: &next.Rotations[0]}
	bundle.Identities = []ledger.IdentityRecord{rec}
	raw, err := bundle.Encode()
	require.NoError(t, err)
	m := e.node.Market
	require.ErrorIs(t, m.Receipts().Check(raw), ledger.ErrMalformed)
	_, err = m.Receipts().Add(t.Context(), [][]byte{raw})
	require.ErrorIs(t, err, ledger.ErrMalformed, "as gossip or a pull delivers it")
	n, err := m.Identities().Add(t.Context(), [][]byte{rec.Encode()})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.True(t, m.SameAgent(carol.AgentID, next.AgentID), "the rotation is folded")
	require.Contains(t, m.Identities().IDs(), rec.ID())
}

// A revocation that arrives in a bundle posted to POST /receipts takes
// effect as one posted to POST /identities does: the revoked key's live
// session is kicked.
func TestImportedRevocationKicksTheKey(t *testing.T) {
	e := start(t, 0)
	bob := e.party("bob")
	rev, err := fileOf(bob).Revoke("leaked", time.Now())
	require.NoError(t, err)
	bundle := &ledger.Bundle{Version: ledger.BundleVersion, Checkpoints: []ledger.Checkpoint{}, Entries: []ledger.BundleEntry{},
		Identities: []ledger.IdentityRecord{{Revocation: rev}}}
	raw, err := bundle.Encode()
	require.NoError(t, err)
	status, body := httpJSON(t, http.MethodPost, e.node.HTTP()+"/receipts", raw)
	require.Equal(t, http.StatusOK, status, "%s", body)
	wait, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	kicked, err := bob.Next(wait, "KICKED")
	require.NoError(t, err)
	require.Contains(t, kicked.String("reason"), "revoked")
	_, revoked := e.node.Market.Revoked(bob.ID)
	require.True(t, revoked)
}

// An identity record about keys no held receipt names leaves the fold as
// it is (no refold: the same table); one about a party refolds.
func TestIdentityRecordRefoldsOnlyWhenItMovesAParty(t *testing.T) {
	e := start(t, 0)
	a, b := e.party("alice"), e.party("bob")
	settle(t, a, b, false)
	m := e.node.Market
	before := m.Table()
	require.Equal(t, 1, before.Receipts())

	stranger, err := identity.New("stranger")
	require.NoError(t, err)
	next, err := stranger.Rotate(time.Now())
	require.NoError(t, err)
	rev, err := next.Revoke("leaked", time.Now())
	require.NoError(t, err)
	n, err := m.AddIdentities(t.Context(), []ledger.IdentityRecord{{Rotation: &next.Rotations[0]}, {Revocation: rev}})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Same(t, before, m.Table(), "records about keys no receipt names do not refold")
	require.True(t, m.SameAgent(stranger.AgentID, next.AgentID), "but they apply")

	moved, err := fileOf(b).Rotate(time.Now())
	require.NoError(t, err)
	_, err = m.AddIdentities(t.Context(), []ledger.IdentityRecord{{Rotation: &moved.Rotations[0]}})
	require.NoError(t, err)
	require.NotSame(t, before, m.Table(), "a rotation of a party refolds")
	require.Equal(t, before.Get(b.at()), m.Table().Get("@"+moved.AgentID), "the rating moved to the new key")
}
