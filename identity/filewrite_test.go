package identity

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name      string
		noClobber bool
		existing  bool
		wantErr   error
		want      string
	}{
		{name: "create", want: "new"},
		{name: "replace", existing: true, want: "new"},
		{name: "create no-clobber", noClobber: true, want: "new"},
		{name: "no-clobber keeps existing", noClobber: true, existing: true, wantErr: fs.ErrExist, want: "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "identity.json")
			if tt.existing {
				require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
			}

			err := writeFile(path, []byte("new"), tt.noClobber)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}

			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(data))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "temporary file removed")
		})
	}
}

func TestDropGitignore(t *testing.T) {
	tests := []struct {
		name   string
		dir    string // written under a temp root
		ignore string // where .gitignore must appear, "" for nowhere
	}{
		{"agentchat dir", ".agentchat", ".agentchat"},
		{"below agentchat", ".agentchat/identities", ".agentchat"},
		{"innermost agentchat", ".agentchat/x/.agentchat/y", ".agentchat/x/.agentchat"},
		{"no agentchat", "config/agent", ""},
		{"similar name", "my.agentchat/ids", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, filepath.FromSlash(tt.dir))
			require.NoError(t, os.MkdirAll(dir, 0o700))
			require.NoError(t, dropGitignore(dir))

			var found []string
			require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.Name() != ".gitignore" {
					return err
				}
				rel, err := filepath.Rel(root, filepath.Dir(p))
				found = append(found, filepath.ToSlash(rel))
				return err
			}))
			if tt.ignore == "" {
				require.Empty(t, found)
				return
			}
			require.Equal(t, []string{tt.ignore}, found)
		})
	}
}
