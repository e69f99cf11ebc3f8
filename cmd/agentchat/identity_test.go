package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIdentityCommandsTakeI pins issue 11.8: the identity subcommands take
// -i/--identity like every other command, and keep -f/--file as aliases.
func TestIdentityCommandsTakeI(t *testing.T) {
	dir := t.TempDir()
	withI := filepath.Join(dir, "i.json")
	out, err := run(t, "identity", "new", "-i", withI, "--name", "eye")
	require.NoError(t, err, out)
	require.Contains(t, out, "created "+withI)
	out, err = run(t, "identity", "show", "--identity", withI)
	require.NoError(t, err, out)
	require.Contains(t, out, "name:      eye")

	withF := filepath.Join(dir, "f.json")
	out, err = run(t, "identity", "new", "-f", withF)
	require.NoError(t, err, out)
	require.Contains(t, out, "created "+withF)
	for _, flag := range []string{"-i", "-f", "--file", "--identity"} {
		out, err = run(t, "identity", "show", flag, withF)
		require.NoError(t, err, "%s: %s", flag, out)
	}
	out, err = run(t, "identity", "rotate", "-i", withF)
	require.NoError(t, err, out)
	require.Contains(t, out, "rotated: @")
	out, err = run(t, "identity", "verify", "-i", withF)
	require.NoError(t, err, out)
	_, err = run(t, "identity", "revoke", "-i", withI)
	require.NoError(t, err)
}
