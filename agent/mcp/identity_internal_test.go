package mcp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIdentityPath(t *testing.T) {
	home := t.TempDir()
	s := &Server{cfg: Config{Home: home}}
	base := filepath.Join(home, ".agentchat")

	p, err := s.identityPath("", "")
	require.NoError(t, err)
	require.Empty(t, p, "no name, no path: ephemeral")

	p, err = s.identityPath("worker-1", "")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(base, "identities", "worker-1.json"), p)

	for _, bad := range []string{"../evil", "a/b", "has space", "x.json"} {
		_, err = s.identityPath(bad, "")
		require.Error(t, err, "name %q", bad)
	}

	for _, tc := range []struct {
		path string
		want string // "" means refused
	}{
		{"identity.json", filepath.Join(base, "identity.json")},
		{"identities/x.json", filepath.Join(base, "identities", "x.json")},
		{"~/.agentchat/id.json", filepath.Join(base, "id.json")},
		{filepath.Join(base, "abs.json"), filepath.Join(base, "abs.json")},
		{"../outside.json", ""},
		{"~/outside.json", ""},
		{"/etc/passwd", ""},
		{filepath.Join(base, "..", "x.json"), ""},
		{"~/.agentchat", ""},
		{"~/.agentchatx/id.json", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := s.identityPath("name", tc.path)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrIdentityPath)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	// A symbolic link inside ~/.agentchat may not lead outside it.
	require.NoError(t, os.MkdirAll(base, 0o700))
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(base, "link")))
	_, err = s.identityPath("", "link/id.json")
	require.ErrorIs(t, err, ErrIdentityPath)
}
