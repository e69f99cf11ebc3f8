package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
	"github.com/agentchat/mesh/testnet"
)

// TestBanCommands pins the CLI of issue 11.7: node --help says bans are
// per node; an operator signs a record with its identity, publishes it
// through a node, and lists what a node holds and enforces.
func TestBanCommands(t *testing.T) {
	out, err := run(t, "node", "--help")
	require.NoError(t, err)
	require.Contains(t, out, "Bans are per node by design")
	require.Contains(t, out, "--honor-bans-from")

	dir := t.TempDir()
	op := filepath.Join(dir, "operator.json")
	opPub := newOperator(t, op)

	cfg := testnet.LocalNodeConfig(t.TempDir())
	cfg.Node.HonorBansFrom = []ed25519.PublicKey{opPub}
	n, err := testnet.StartNode(context.Background(), cfg)
	require.NoError(t, err)
	defer n.Close()

	rec, err := run(t, "ban", "sign", "-i", op, "--reason", "spam", "@0123456789abcdef")
	require.NoError(t, err, rec)
	b, err := identity.DecodeBan([]byte(rec[:len(rec)-1]))
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(opPub), b.Operator)
	path := filepath.Join(dir, "ban.json")
	require.NoError(t, os.WriteFile(path, []byte(rec), 0o600))
	out, err = run(t, "ban", "publish", "--node", n.WS(), path)
	require.NoError(t, err, out)
	require.Contains(t, out, `"honoured":true`)
	out, err = run(t, "ban", "list", "--node", n.WS())
	require.NoError(t, err, out)
	require.Regexp(t, `@0123456789abcdef +[0-9a-f]{16}… +ban +true +spam`, out)

	// A tampered record is refused before it is sent: a re-spelled
	// signature as malformed, a changed one as a bad signature.
	require.NoError(t, os.WriteFile(path, []byte(rec[:len(rec)-3]+`x"}`), 0o600))
	_, err = run(t, "ban", "publish", "--node", n.WS(), path)
	require.ErrorIs(t, err, identity.ErrBadBan)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(rec, `"spam`, `"spa_`, 1)), 0o600))
	_, err = run(t, "ban", "publish", "--node", n.WS(), path)
	require.ErrorIs(t, err, identity.ErrBadSignature)
	_, err = run(t, "ban", "sign", "@0123456789abcdef")
	require.ErrorContains(t, err, "give exactly one of -i")
}

// TestHonorBansFromValues: the flag takes a hex key, a PEM file or an
// identity file, and names a bad value.
func TestHonorBansFromValues(t *testing.T) {
	pub, _, err := identity.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	pemPath := filepath.Join(dir, "op.pem")
	require.NoError(t, os.WriteFile(pemPath, []byte(identity.EncodePublicPEM(pub)), 0o600))
	idPath := filepath.Join(dir, "op.json")
	idPub := newOperator(t, idPath)

	keys, err := operatorKeys([]string{hex.EncodeToString(pub), pemPath, idPath})
	require.NoError(t, err)
	require.Len(t, keys, 3)
	require.True(t, keys[0].Equal(pub))
	require.True(t, keys[1].Equal(pub))
	require.True(t, keys[2].Equal(idPub))
	_, err = operatorKeys([]string{"not-a-key"})
	require.ErrorContains(t, err, `--honor-bans-from "not-a-key"`)
}

// newOperator creates an identity file at path with the CLI and returns
// its public key.
func newOperator(t *testing.T, path string) ed25519.PublicKey {
	t.Helper()
	out, err := run(t, "identity", "new", "-i", path)
	require.NoError(t, err, out)
	f, err := identity.LoadFile(path)
	require.NoError(t, err)
	pub, err := identity.ParsePublicPEM(f.PublicKey)
	require.NoError(t, err)
	return pub
}
