package transfer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// plannedFile is an archive entry with the path it will be written to.
type plannedFile struct {
	name string
	path string // absolute, from SafeJoin
	data []byte
}

// planFiles checks every entry before anything is written: each name must
// pass SafeJoin under dir, and no entry may need another entry's path as a
// directory ("a" and "a/b"). A later entry with the same name replaces an
// earlier one.
func planFiles(dir string, files []File) ([]plannedFile, error) {
	plan := make([]plannedFile, 0, len(files))
	index := make(map[string]int, len(files))
	for _, f := range files {
		p, err := SafeJoin(dir, f.Name)
		if err != nil {
			return nil, err
		}
		if i, dup := index[p]; dup {
			plan[i].data = f.Data
			continue
		}
		index[p] = len(plan)
		plan = append(plan, plannedFile{name: f.Name, path: p, data: f.Data})
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, pf := range plan {
		for d := filepath.Dir(pf.path); within(base, d); d = filepath.Dir(d) {
			if _, clash := index[d]; clash {
				return nil, fmt.Errorf("%w: %q is both a file and a directory", ErrUnsafePath, d)
			}
		}
	}
	return plan, nil
}

// writeFiles writes planned files under dir, creating dir and the
// directories between. It resolves every existing directory it passes
// through and refuses one that leads outside dir (a symbolic link), and
// writes each file to a new temporary name in its directory before renaming
// it into place, so an existing symbolic link at the destination is
// replaced, never followed.
func writeFiles(dir string, plan []plannedFile) error {
	base, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	root, err := filepath.EvalSymlinks(base)
	if err != nil {
		return err
	}
	for _, pf := range plan {
		rel, err := filepath.Rel(base, pf.path)
		if err != nil {
			return err
		}
		parent, err := mkdirInside(root, filepath.Dir(rel))
		if err != nil {
			return fmt.Errorf("%s: %w", pf.name, err)
		}
		if err := writeNew(filepath.Join(parent, filepath.Base(rel)), pf.data); err != nil {
			return fmt.Errorf("%s: %w", pf.name, err)
		}
	}
	return nil
}

// mkdirInside creates the directories of rel under root one by one and
// returns the resolved directory, refusing any step that resolves outside
// root.
func mkdirInside(root, rel string) (string, error) {
	cur := root
	if rel == "." {
		return cur, nil
	}
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		next := filepath.Join(cur, elem)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(next, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			real, err := filepath.EvalSymlinks(next)
			if err != nil {
				return "", err
			}
			if real != root && !within(root, real) {
				return "", fmt.Errorf("%w: %s leads outside the target directory", ErrUnsafePath, next)
			}
			next = real
		case !fi.IsDir():
			return "", fmt.Errorf("%s is not a directory", next)
		}
		cur = next
	}
	return cur, nil
}

// writeNew writes data to a fresh temporary file next to p and renames it
// to p.
func writeNew(p string, data []byte) error {
	var r [6]byte
	_, _ = rand.Read(r[:])
	tmp := filepath.Join(filepath.Dir(p), ".agentchat-"+hex.EncodeToString(r[:])+".part")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
