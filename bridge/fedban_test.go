package bridge_test

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

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/testnet"
)

// postBan publishes a record at a node and returns the HTTP status and body.
func postBan(t *testing.T, n *testnet.Node, raw []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(n.HTTP()+"/bans", "application/json", bytes.NewReader(raw))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &out), "%s", data)
	return resp.StatusCode, out
}

// banRecords is a node's GET /bans.
func banRecords(t *testing.T, n *testnet.Node) []map[string]any {
	t.Helper()
	resp, err := http.Get(n.HTTP() + "/bans")
	require.NoError(t, err)
	defer resp.Body.Close()
	var out []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// waitBanRecord waits until node n holds the operator's newest record
// about agent with the given lift flag.
func waitBanRecord(t *testing.T, n *testnet.Node, agent string, lift bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, r := range banRecords(t, n) {
			if r["agent_id"] == agent && r["lift"] == lift {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "record about %s (lift %v) never reached %s", agent, lift, n.WS())
}

// identifyErr identifies on node and returns the error (nil: WELCOME).
func identifyErr(t *testing.T, n *testnet.Node, priv ed25519.PrivateKey) error {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	a, err := testnet.Dial(ctx, n.WS())
	require.NoError(t, err)
	defer a.Close()
	_, err = a.Identify(ctx, "victim", priv)
	return err
}

// TestOperatorBansAcrossNodes pins issue 11.7: bans stay per node unless a
// node opts in to an operator's key. The operator signs a ban record; it is
// published at a node that does not honour it (which stores and gossips it
// all the same), enforced by the node that honours the key — the banned
// agent online there is told BANNED and closed, and refused when it comes
// back — and ignored by the node that does not. A node that joins later,
// through the non-honouring node only, learns the record by reconciliation
// and enforces it. A lift undoes it; a bad signature is refused.
func TestOperatorBansAcrossNodes(t *testing.T) {
	opPub, opPriv, err := identity.GenerateKey()
	require.NoError(t, err)
	net := startMesh(t, 2, func(i int, cfg *testnet.NodeConfig) {
		if i == 0 {
			cfg.Node.HonorBansFrom = []ed25519.PublicKey{opPub}
		}
	})
	n0, n1 := net.Nodes[0], net.Nodes[1]
	victimKey := newKey(t)
	victim := connect(t, net, 0, "victim", victimKey)

	ban, err := identity.SignBan(opPriv, victim.ID, "spam across the mesh", false, time.Now())
	require.NoError(t, err)
	status, out := postBan(t, n1, ban.Encode())
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, false, out["honoured"])
	require.Equal(t, true, out["new"])

	// n0 honours the operator: the victim online there is banned off.
	f, err := victim.Next(ctxFor(t, 20*time.Second), "BANNED")
	require.NoError(t, err)
	require.Equal(t, "spam across the mesh", f.String("reason"))
	err = identifyErr(t, n0, victimKey)
	require.ErrorContains(t, err, "BANNED spam across the mesh")
	// n1 does not: the agent is welcome there.
	require.NoError(t, identifyErr(t, n1, victimKey))

	// A bad signature is refused at publication.
	forged := *ban
	forged.AgentID = strings.Repeat("a", 16)
	status, out = postBan(t, n1, forged.Encode())
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, out["error"], "invalid signature")

	// A node started later, peered with n1 only, that honours the key.
	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.P2P.Peers = n1.Host.Addrs()
	cfg.Node.HonorBansFrom = []ed25519.PublicKey{opPub}
	n2, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n2.Close()) })
	waitBanRecord(t, n2, victim.ID, false)
	require.ErrorContains(t, identifyErr(t, n2, victimKey), "BANNED")

	// The operator lifts the ban, published at n0; n2 lets the agent in.
	lift, err := identity.SignBan(opPriv, victim.ID, "", true, time.Now().Add(time.Millisecond))
	require.NoError(t, err)
	status, out = postBan(t, n0, lift.Encode())
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, true, out["honoured"])
	waitBanRecord(t, n2, victim.ID, true)
	require.NoError(t, identifyErr(t, n2, victimKey))
}

// TestOperatorBanSurvivesRestart: a node enforces records signed by its
// own key without being told to, keeps every record on disk, and enforces
// it again after a restart with no peer to relearn it from.
func TestOperatorBanSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	n, err := testnet.StartNode(context.Background(), testnet.LocalNodeConfig(dir))
	require.NoError(t, err)
	victimKey := newKey(t)
	ban, err := identity.SignBan(n.Data.Key, identity.AgentID(identity.EncodePublicPEM(victimKey.Public().(ed25519.PublicKey))),
		"", false, time.Now())
	require.NoError(t, err)
	status, out := postBan(t, n, ban.Encode())
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, true, out["honoured"], "a node honours its own key")
	require.ErrorContains(t, identifyErr(t, n, victimKey), "BANNED Banned by operator")
	require.NoError(t, n.Close())

	n, err = testnet.StartNode(context.Background(), testnet.LocalNodeConfig(dir))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	require.ErrorContains(t, identifyErr(t, n, victimKey), "BANNED")
	require.Len(t, banRecords(t, n), 1)
}
