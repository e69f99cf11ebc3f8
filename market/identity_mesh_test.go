package market_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/ledger"
	"github.com/agentchat/mesh/node"
	"github.com/agentchat/mesh/protocol"
	"github.com/agentchat/mesh/testnet"
)

// partyWithKey connects an agent holding priv to node n.
func partyWithKey(t *testing.T, n *testnet.Node, name string, priv ed25519.PrivateKey) *party {
	t.Helper()
	a, err := testnet.Dial(ctxFor(t), n.WS())
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	_, err = a.Identify(ctxFor(t), name, priv)
	require.NoError(t, err)
	return &party{Agent: a, priv: priv}
}

// settleAcross runs a proposal from a to b (on another node) to completion
// by a.
func settleAcross(t *testing.T, a, b *party, task string) {
	t.Helper()
	id := proposeAcross(t, a, b, task, nil)
	require.Equal(t, id, b.next(t, "PROPOSAL").String("id"))
	b.accept(t, id, 0)
	a.next(t, "ACCEPT")
	b.next(t, "ACCEPT")
	a.complete(t, id)
	a.next(t, "COMPLETE")
	b.next(t, "COMPLETE")
}

// httpJSON does one request against a node and returns status and body.
func httpJSON(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxFor(t), method, url, bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// reputationOn reads /reputation/<id> from node n.
func reputationOn(t *testing.T, n *testnet.Node, id string) ledger.Rating {
	t.Helper()
	status, body := httpJSON(t, http.MethodGet, n.HTTP()+"/reputation/"+id, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var r ledger.Rating
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

// exportAndVerify fetches node n's bundle for agent and verifies it
// offline, returning the agent's rating in the refold.
func exportAndVerify(t *testing.T, n *testnet.Node, agent string) (ledger.Rating, *ledger.Bundle) {
	t.Helper()
	status, body := httpJSON(t, http.MethodGet, n.HTTP()+"/receipts?agent="+agent, nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	b, err := ledger.DecodeBundle(body)
	require.NoError(t, err)
	rep, err := ledger.VerifyBundle(b)
	require.NoError(t, err, "%+v", rep)
	return rep.Table.Get("@" + strings.TrimPrefix(agent, "@")), b
}

func waitReceipts(t *testing.T, net *testnet.Net, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, nd := range net.Nodes {
			if nd.Market.Table().Receipts() != n {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "every node holds the %d receipts", n)
}

// Bob's receipts are settled on two other nodes, and carol's rating — which
// moves bob's gains — on a third pair. Bob's own node exports a bundle of
// everything his rating depends on, with the proofs of the logs that hold
// the receipts, and the bundle refolds offline to the rating the node shows.
func TestAgentExportCoversReceiptsSettledElsewhere(t *testing.T) {
	net := startMesh(t, 3)
	alice := partyOn(t, net.Nodes[0], "alice")
	bob := partyOn(t, net.Nodes[1], "bob")
	carol := partyOn(t, net.Nodes[2], "carol")
	dave := partyOn(t, net.Nodes[2], "dave")

	// On node 2, carol wins a dispute and dave's stake: her rating, and so
	// what bob gains with her, depends on a receipt bob is no party to.
	id := carol.propose(t, dave, "staked job", 0)
	dave.next(t, "PROPOSAL")
	dave.accept(t, id, 200)
	carol.next(t, "ACCEPT")
	require.NoError(t, carol.Send(map[string]any{"type": "DISPUTE", "proposal_id": id, "reason": "late",
		"sig": carol.sign(protocol.DisputeSigningString(id, "late"))}))
	carol.next(t, "DISPUTE")
	settleAcross(t, alice, bob, "first")  // held by node 0
	settleAcross(t, carol, bob, "second") // held by node 2
	waitReceipts(t, net, 3)
	require.EqualValues(t, 1200+8+12, reputationOn(t, net.Nodes[1], bob.ID).Rating, "carol's 1408 makes bob's gain 12, not 8")

	for _, n := range net.Nodes {
		want := reputationOn(t, n, bob.ID)
		require.Equal(t, 2, want.Transactions)
		got, b := exportAndVerify(t, n, bob.at())
		require.Len(t, b.Entries, 3, "bob's two receipts and carol's earlier one")
		require.Equal(t, want, got, "the offline refold of the bundle gives the rating the node shows")
	}
}

// post submits an identity record to node n.
func post(t *testing.T, n *testnet.Node, rec ledger.IdentityRecord) {
	t.Helper()
	status, body := httpJSON(t, http.MethodPost, n.HTTP()+"/identities", rec.Encode())
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// Bob rotates his key and submits the rotation to one node; every node then
// rates his new key with the old key's history, and bundles carry the
// chain so the offline refold agrees. Bob then revokes the new key on node
// 0; node 2, which learns it only from the mesh, ends the key's live
// session and refuses it from then on.
func TestRotationAndRevocationReachEveryNode(t *testing.T) {
	net := startMesh(t, 3)
	alice := partyOn(t, net.Nodes[0], "alice")
	f, err := identity.New("bob")
	require.NoError(t, err)
	bob := partyWithKey(t, net.Nodes[1], "bob", f.Private())
	settleAcross(t, alice, bob, "before the rotation")
	waitReceipts(t, net, 1)
	old := reputationOn(t, net.Nodes[1], bob.ID)
	require.Equal(t, 1, old.Transactions)

	next, err := f.Rotate(time.Now())
	require.NoError(t, err)
	post(t, net.Nodes[1], ledger.IdentityRecord{Rotation: &next.Rotations[0]})
	require.Eventually(t, func() bool {
		for _, n := range net.Nodes {
			if reputationOn(t, n, next.AgentID) != old {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "every node rates the new key with the old key's receipts")
	for _, n := range net.Nodes {
		require.True(t, n.Market.SameAgent(bob.at(), "@"+next.AgentID))
		got, b := exportAndVerify(t, n, "@"+next.AgentID)
		require.Len(t, b.Identities, 1, "the bundle carries the rotation")
		require.Equal(t, old, got)
	}

	// The new key works on node 2 until it is revoked on node 0: the live
	// session is kicked, and a new one is refused.
	live := partyWithKey(t, net.Nodes[2], "bob", next.Private())
	// Dated a minute ahead (a fast clock): the revocation still takes
	// effect at once.
	rev, err := next.Revoke("leaked", time.Now().Add(time.Minute))
	require.NoError(t, err)
	post(t, net.Nodes[0], ledger.IdentityRecord{Revocation: rev})
	wait, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	kicked, err := live.Next(wait, "KICKED")
	require.NoError(t, err)
	require.Contains(t, kicked.String("reason"), "revoked")
	require.Eventually(t, func() bool {
		a, err := testnet.Dial(ctxFor(t), net.Nodes[2].WS())
		require.NoError(t, err)
		defer a.Close()
		f, err := a.Identify(ctxFor(t), "bob", next.Private())
		if err == nil {
			return false
		}
		require.Equal(t, "VERIFICATION_FAILED", f.String("code"), "%s", f.Raw)
		require.Contains(t, f.String("message"), "revoked")
		return true
	}, 30*time.Second, 100*time.Millisecond, "node 2 refuses the revoked key")
	require.Equal(t, old, reputationOn(t, net.Nodes[2], next.AgentID), "receipts before the revocation still count")
}

// A receipt stored without its proof (as an older version stored gossiped
// receipts) is not listed in the node's digest, so reconciliation fetches
// the proven record again and the node's exports cover it.
func TestReceiptWithoutProofIsHealedByReconciliation(t *testing.T) {
	net := startMesh(t, 2)
	alice := partyOn(t, net.Nodes[0], "alice")
	bob := partyOn(t, net.Nodes[1], "bob")
	settleAcross(t, alice, bob, "job") // held and logged by node 0
	waitReceipts(t, net, 1)
	path := net.Nodes[1].Data.Path
	require.NoError(t, net.Nodes[1].Close())

	dd, err := node.OpenDataDir(t.Context(), path)
	require.NoError(t, err)
	st, err := ledger.OpenStore(t.Context(), ledger.StoreConfig{Datastore: dd.Store, NodeKey: dd.Key})
	require.NoError(t, err)
	rs, err := st.List(t.Context())
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.NoError(t, dd.Store.Delete(t.Context(), datastore.NewKey("/proofs/"+rs[0].ID())))
	has, err := st.HasProof(t.Context(), rs[0].ID())
	require.NoError(t, err)
	require.False(t, has)
	dd.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// Outlast gossipsub's message cache (5 heartbeats of 100 ms), so only
	// reconciliation, not gossip's IHAVE replay, can bring the record back.
	time.Sleep(time.Second)
	require.NoError(t, net.Restart(ctx, 1))
	status, body := httpJSON(t, http.MethodGet, net.Nodes[1].HTTP()+"/receipts?agent="+bob.at(), nil)
	if status != http.StatusOK {
		require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
		require.Contains(t, string(body), "no inclusion proof")
	}
	require.NoError(t, net.WaitMesh(ctx, 30*time.Second))
	require.Eventually(t, func() bool {
		status, _ := httpJSON(t, http.MethodGet, net.Nodes[1].HTTP()+"/receipts?agent="+bob.at(), nil)
		return status == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "node 1 fetches the proof again")
	got, b := exportAndVerify(t, net.Nodes[1], bob.at())
	require.Len(t, b.Entries, 1)
	require.Equal(t, reputationOn(t, net.Nodes[1], bob.ID), got)
}
