package identity_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agentchat/mesh/identity"
)

func TestNew(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Millisecond)
	f, err := identity.New("alice")
	require.NoError(t, err)

	require.Equal(t, "alice", f.Name)
	require.Equal(t, identity.AgentID(f.PublicKey), f.AgentID)
	require.Empty(t, f.Rotations)
	require.NotNil(t, f.Public())
	require.NotNil(t, f.Private())
	require.Equal(t, f.Public(), f.Private().Public())

	// JS toISOString: always milliseconds, always Z.
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, f.Created)
	created, err := time.Parse(time.RFC3339, f.Created)
	require.NoError(t, err)
	require.False(t, created.Before(before))
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", ".agentchat", "identities")
	path := filepath.Join(dir, "alice.json")

	f, err := identity.New("alice <&>")
	require.NoError(t, err)
	f, err = f.Rotate(time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC))
	require.NoError(t, err)
	require.NoError(t, f.Save(path))

	got, err := identity.LoadFile(path)
	require.NoError(t, err)
	require.Equal(t, f, got)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []string{"publicKey", "privateKey", "agentId", "name", "created", "rotations"}, topLevelKeys(t, data))
	require.Contains(t, string(data), "\n  \"publicKey\": ")
	require.Contains(t, string(data), `"alice <&>"`, "names are written as JSON.stringify writes them")

	gitignore, err := os.ReadFile(filepath.Join(filepath.Dir(dir), ".gitignore"))
	require.NoError(t, err)
	require.Equal(t, "*\n", string(gitignore))

	if runtime.GOOS != "windows" {
		requireMode(t, path, 0o600)
		requireMode(t, dir, 0o700)
		requireMode(t, filepath.Dir(dir), 0o700)
	}

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")
}

func TestSaveOmitsEmptyFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.json")
	f, err := identity.New("")
	require.NoError(t, err)
	f.Created = ""
	require.NoError(t, f.Save(path))

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []string{"publicKey", "privateKey", "agentId"}, topLevelKeys(t, data))
	_, err = os.Stat(filepath.Join(filepath.Dir(path), ".gitignore"))
	require.ErrorIs(t, err, fs.ErrNotExist, "no .gitignore outside .agentchat")
}

func TestSaveReplacesWithPrivateMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	path := filepath.Join(t.TempDir(), "identity.json")
	require.NoError(t, os.WriteFile(path, []byte("{}"), 0o644))

	f, err := identity.New("bob")
	require.NoError(t, err)
	require.NoError(t, f.Save(path))
	requireMode(t, path, 0o600)
}

func TestSaveKeepsExistingGitignore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".agentchat")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	ignore := filepath.Join(dir, ".gitignore")
	require.NoError(t, os.WriteFile(ignore, []byte("identity.json\n"), 0o644))

	f, err := identity.New("")
	require.NoError(t, err)
	require.NoError(t, f.Save(filepath.Join(dir, "identity.json")))

	data, err := os.ReadFile(ignore)
	require.NoError(t, err)
	require.Equal(t, "identity.json\n", string(data))
}

func TestSaveRejectsBadKeys(t *testing.T) {
	a, err := identity.New("")
	require.NoError(t, err)
	b, err := identity.New("")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "identity.json")

	mixed := *a
	mixed.PrivateKey = b.PrivateKey
	require.ErrorIs(t, mixed.Save(path), identity.ErrKeyMismatch)

	noKey := *a
	noKey.PublicKey = ""
	require.ErrorIs(t, noKey.Save(path), identity.ErrBadPEM)

	_, err = os.Stat(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestLoadFile(t *testing.T) {
	a, err := identity.New("a")
	require.NoError(t, err)
	b, err := identity.New("b")
	require.NoError(t, err)

	tests := []struct {
		name    string
		content string
		want    *identity.File // nil when an error is expected
		wantErr error          // checked with errors.Is when set
	}{
		{
			name:    "pubkey/privkey spelling",
			content: jsonOf(t, map[string]any{"pubkey": a.PublicKey, "privkey": a.PrivateKey, "agentId": a.AgentID}),
			want:    &identity.File{PublicKey: a.PublicKey, PrivateKey: a.PrivateKey, AgentID: a.AgentID},
		},
		{
			name:    "stale agentId is replaced",
			content: jsonOf(t, map[string]any{"publicKey": a.PublicKey, "privateKey": a.PrivateKey, "agentId": "0000000000000000", "name": "a"}),
			want:    &identity.File{PublicKey: a.PublicKey, PrivateKey: a.PrivateKey, AgentID: a.AgentID, Name: "a"},
		},
		{
			name:    "public-only identity",
			content: jsonOf(t, map[string]any{"publicKey": vectorPubPEM, "privateKey": "", "agentId": "f0ff50dacf109dea"}),
			want:    &identity.File{PublicKey: vectorPubPEM, AgentID: "f0ff50dacf109dea"},
		},
		{
			name:    "id follows the exact PEM text",
			content: jsonOf(t, map[string]any{"publicKey": strings.TrimSuffix(vectorPubPEM, "\n"), "privateKey": vectorPrivPEM}),
			want:    &identity.File{PublicKey: strings.TrimSuffix(vectorPubPEM, "\n"), PrivateKey: vectorPrivPEM, AgentID: "ae8e7d3bbb0cd5b6"},
		},
		{
			name:    "mismatched private key",
			content: jsonOf(t, map[string]any{"publicKey": a.PublicKey, "privateKey": b.PrivateKey}),
			wantErr: identity.ErrKeyMismatch,
		},
		{
			name:    "missing public key",
			content: jsonOf(t, map[string]any{"privateKey": a.PrivateKey}),
			wantErr: identity.ErrBadPEM,
		},
		{
			name:    "private key in public field",
			content: jsonOf(t, map[string]any{"publicKey": a.PrivateKey, "privateKey": a.PrivateKey}),
			wantErr: identity.ErrPEMType,
		},
		{
			name:    "not JSON",
			content: "publicKey: x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "identity.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))

			got, err := identity.LoadFile(path)
			if tt.want == nil {
				require.Error(t, err)
				require.Nil(t, got)
				require.Contains(t, err.Error(), path)
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := identity.LoadFile(filepath.Join(t.TempDir(), "nope.json"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestPublicOnlyIdentityCannotSign(t *testing.T) {
	f := &identity.File{PublicKey: vectorPubPEM, AgentID: identity.AgentID(vectorPubPEM)}
	require.Equal(t, vectorPub(), f.Public())
	require.Nil(t, f.Private())

	_, err := f.Rotate(time.Now())
	require.ErrorIs(t, err, identity.ErrNoPrivateKey)
	_, err = f.Revoke("", time.Now())
	require.ErrorIs(t, err, identity.ErrNoPrivateKey)
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".agentchat", "identity.json")

	first, created, err := identity.LoadOrCreate(path, "carol")
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "carol", first.Name)

	second, created, err := identity.LoadOrCreate(path, "ignored")
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first, second)

	_, err = os.Stat(filepath.Join(filepath.Dir(path), ".gitignore"))
	require.NoError(t, err)
}

func TestLoadOrCreateKeepsBrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.json")
	require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))

	_, _, err := identity.LoadOrCreate(path, "x")
	require.Error(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{", string(data), "a broken identity is reported, never overwritten")
}

func TestDefaultPath(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("home directory is not $HOME")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	require.Equal(t, filepath.Join(home, ".agentchat", "identity.json"), identity.DefaultPath())
}

func requireMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, info.Mode().Perm(), path)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}

// topLevelKeys lists an object's keys in the order they appear in the text.
func topLevelKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}
