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

	out, err := run(t, "identity", "publish", "--file", file, "--node", n.WS()) // the old flag name stays an alias
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

// A file rotated by a version that did not countersign: publish
// countersigns the last rotation with the current key (and saves it),
// says so, and skips the earlier one, whose new key is gone, with a
// warning; the node links the last two keys only.
func TestIdentityPublishCountersignsOlderFile(t *testing.T) {
	n, err := testnet.StartNode(context.Background(), testnet.LocalNodeConfig(t.TempDir()))
	require.NoError(t, err)
	defer n.Close()
	file := filepath.Join(t.TempDir(), "id.json")
	_, err = run(t, "identity", "new", "-i", file)
	require.NoError(t, err)
	for range 2 {
		_, err = run(t, "identity", "rotate", "-i", file)
		require.NoError(t, err)
	}
	f, err := identity.LoadFile(file)
	require.NoError(t, err)
	for i := range f.Rotations {
		f.Rotations[i].NewSignature = "" // as an older version wrote it
	}
	require.NoError(t, f.Save(file))
	first, last := f.Rotations[0], f.Rotations[1]

	out, err := run(t, "identity", "publish", "-i", file, "--node", n.WS())
	require.NoError(t, err, out)
	require.Contains(t, out, "countersigned rotation @"+last.OldAgentID+" -> @"+last.NewAgentID+" with the current key")
	require.Contains(t, out, "warning: rotation @"+first.OldAgentID+" -> @"+first.NewAgentID+" is not countersigned")
	require.Contains(t, out, "published rotation @"+last.OldAgentID+" -> @"+last.NewAgentID)
	require.NotContains(t, out, "published rotation @"+first.OldAgentID)
	require.True(t, n.Market.SameAgent(last.OldAgentID, f.AgentID))
	require.False(t, n.Market.SameAgent(first.OldAgentID, f.AgentID))

	saved, err := identity.LoadFile(file)
	require.NoError(t, err)
	require.NoError(t, identity.VerifyCountersign(&saved.Rotations[1]), "the countersignature is saved")
	out, err = run(t, "identity", "publish", "-i", file, "--node", n.WS())
	require.NoError(t, err, out)
	require.NotContains(t, out, "countersigned rotation", "a countersigned rotation is published as it is")
}
