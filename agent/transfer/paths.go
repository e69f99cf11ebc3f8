package transfer

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafeJoin returns the path at which the archive entry name is written
// under dir, or an error wrapping ErrUnsafePath; it never touches the file
// system except to make dir absolute.
//
// PROTOCOL.md §21.3 has the reference unpacker remove every ".." and one
// leading "/" and then skip entries that resolve outside the output
// directory. SafeJoin refuses instead of repairing, and is stricter:
//
//   - the name must be non-empty, at most 4096 bytes, valid UTF-8, without
//     NUL or other control characters and without U+2028/U+2029;
//   - it must be relative: no leading "/" and no backslash anywhere (a
//     Windows separator, so `..\x` cannot mean `../x` on any platform), no
//     Windows volume name;
//   - no element may be ".." or any other run of dots and spaces other than
//     "." (Windows drops trailing dots and spaces, so "..." and ".. " would
//     also mean "..");
//   - the cleaned result must lie strictly inside dir (not dir itself).
//
// Symbolic links already inside dir are not resolved here; the receiver
// checks the resolved parent directory again right before it writes.
func SafeJoin(dir, name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: target directory %q: %v", ErrUnsafePath, dir, err)
	}
	p := filepath.Join(base, filepath.FromSlash(name))
	if !within(base, p) {
		return "", fmt.Errorf("%w: %q resolves outside the target directory", ErrUnsafePath, name)
	}
	return p, nil
}

// maxNameLen bounds an entry name (PATH_MAX on Linux).
const maxNameLen = 4096

// checkName applies SafeJoin's rules on the name alone. The sender uses it
// too, so that it never offers a name a receiver refuses.
func checkName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q: %s", ErrUnsafePath, name, why) }
	switch {
	case name == "":
		return bad("empty name")
	case len(name) > maxNameLen:
		return bad("name too long")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case strings.Contains(name, `\`):
		return bad("backslash in name")
	case filepath.IsAbs(name) || filepath.VolumeName(name) != "":
		return bad("absolute path")
	}
	if !utf8.ValidString(name) {
		return bad("invalid UTF-8")
	}
	for _, r := range name {
		if r == 0 {
			return bad("NUL byte")
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return bad("control character")
		}
	}
	for _, elem := range strings.Split(name, "/") {
		if elem != "." && elem != "" && strings.TrimRight(elem, ". ") == "" {
			return bad(`".." or dots-only path element`)
		}
	}
	return nil
}

// within reports whether p lies strictly inside dir; both are absolute
// and clean.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == "." || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
