package transfer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSafeJoinRefusesHostileNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		"",
		"../x",
		"..",
		"../../etc/passwd",
		"a/../../x",
		"a/b/../../../x",
		"a/..",
		"./..",
		"/etc/passwd",
		"//etc/passwd",
		"/",
		`..\x`,
		`a\..\..\x`,
		`C:\Windows\x`,
		`\\server\share\x`,
		"...",
		"a/.../b",
		".. ",
		"a/. ./b",
		" ",
		"....//x", // JavaScript's unpacker strips ".." to "//x"; a dots-only element is refused here
		"x\x00y",
		"a\nb",
		"a\rb",
		"tab\there",
		"del\x7f",
		"line\u2028sep",
		"bad\xffutf8",
		".",
		"./",
		"a/./..",
		strings.Repeat("a/", 2049) + "b",
	} {
		t.Run(name, func(t *testing.T) {
			p, err := SafeJoin(dir, name)
			require.ErrorIs(t, err, ErrUnsafePath, "name %q gave %q", name, p)
			require.Empty(t, p)
		})
	}
}

func TestSafeJoinAcceptsOrdinaryNames(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]string{
		"a.txt":              "a.txt",
		"dir/b.txt":          "dir/b.txt",
		"./c.txt":            "c.txt",
		"d//e/./f.txt":       "d/e/f.txt",
		"..hidden":           "..hidden",
		"x..y":               "x..y",
		"a/..b/c..":          "a/..b/c..",
		".env":               ".env",
		"sp ace/é 😀.md":      "sp ace/é 😀.md",
		"trailing/":          "trailing",
		"END of story.txt":   "END of story.txt",
		"C:relative-on-unix": "C:relative-on-unix",
	} {
		t.Run(name, func(t *testing.T) {
			p, err := SafeJoin(dir, name)
			require.NoError(t, err)
			require.Equal(t, filepath.Join(dir, filepath.FromSlash(want)), p)
			rel, err := filepath.Rel(dir, p)
			require.NoError(t, err)
			require.False(t, rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)))
		})
	}
}

func TestSafeJoinRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	p, err := SafeJoin("out", "a/b")
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(wd, "out", "a", "b"), p, "the result is absolute")
	_, err = SafeJoin(".", "../x")
	require.ErrorIs(t, err, ErrUnsafePath)
}

func TestPlanFilesRefusesClashes(t *testing.T) {
	dir := t.TempDir()
	_, err := planFiles(dir, []File{{Name: "a", Data: []byte("1")}, {Name: "a/b", Data: []byte("2")}})
	require.ErrorIs(t, err, ErrUnsafePath)
	_, err = planFiles(dir, []File{{Name: "ok", Data: nil}, {Name: "../evil", Data: nil}})
	require.ErrorIs(t, err, ErrUnsafePath)
	plan, err := planFiles(dir, []File{{Name: "a", Data: []byte("1")}, {Name: "./a", Data: []byte("2")}})
	require.NoError(t, err)
	require.Len(t, plan, 1, "the same path twice: the later entry wins")
	require.Equal(t, "2", string(plan[0].data))
}

// TestWriteFilesStaysInsideThroughSymlinks: a symbolic link inside the
// target directory that leads out of it is refused, and one at a file's
// destination is replaced rather than written through.
func TestWriteFilesStaysInsideThroughSymlinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "escape")))
	victim := filepath.Join(outside, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o644))
	require.NoError(t, os.Symlink(victim, filepath.Join(dir, "link")))

	plan, err := planFiles(dir, []File{{Name: "escape/x", Data: []byte("no")}})
	require.NoError(t, err, "the name alone is fine")
	require.ErrorIs(t, writeFiles(dir, plan), ErrUnsafePath)
	_, err = os.Stat(filepath.Join(outside, "x"))
	require.ErrorIs(t, err, os.ErrNotExist)

	plan, err = planFiles(dir, []File{{Name: "link", Data: []byte("new")}, {Name: "sub/dir/f", Data: []byte("f")}})
	require.NoError(t, err)
	require.NoError(t, writeFiles(dir, plan))
	got, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(got), "the link's target is untouched")
	fi, err := os.Lstat(filepath.Join(dir, "link"))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular(), "the link was replaced by the file")
	got, err = os.ReadFile(filepath.Join(dir, "sub", "dir", "f"))
	require.NoError(t, err)
	require.Equal(t, "f", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".part"), "no temporary file left: %s", e.Name())
	}
}
