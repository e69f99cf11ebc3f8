package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/testnet"
)

// rotate, publish, revoke, publish: the node learns both records, and the
// revoked key no longer authenticates.
func TestIdentityPublish(t *testing.T) {
	n, err := testnet.StartNode(context.Background(), testnet.LocalNodeConfig(t.TempDir()))
	require.NoError(t, err)
	defer n.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "id.json")
	_, err = run(t, "identity", "new", "-f", file, "--name", "bob")
	require.NoError(t, err)

	out, err := run(t, "identity", "publish", "-f", file, "--node", n.WS())
	require.Error(t, err, "nothing to publish before a rotation")
	require.Contains(t, err.Error()+out, "never rotated")

	_, err = run(t, "identity", "rotate", "-f", file)
	require.NoError(t, err)
	out, err = run(t, "identity", "publish", "-f", file, "--node", n.WS())
	require.NoError(t, err, out)
	require.Contains(t, out, "published rotation @")
	f, err := identity.LoadFile(file)
	require.NoError(t, err)
	require.True(t, n.Market.SameAgent(f.Rotations[0].OldAgentID, f.AgentID))

	notice, err := run(t, "identity", "revoke", "-f", file, "--reason", "leaked")
	require.NoError(t, err)
	path := filepath.Join(dir, "revocation.json")
	require.NoError(t, os.WriteFile(path, []byte(notice), 0o600))
	out, err = run(t, "identity", "publish", path, "--node", n.WS())
	require.NoError(t, err, out)
	require.Contains(t, out, "published revocation of @"+f.AgentID+" (leaked)")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := testnet.Dial(ctx, n.WS())
	require.NoError(t, err)
	defer a.Close()
	fr, err := a.Identify(ctx, "bob", f.Private())
	require.Error(t, err)
	require.Equal(t, "VERIFICATION_FAILED", fr.String("code"))
}
