package identity

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFile puts data at path so that a reader sees either the old file or
// the whole new one: it writes a 0600 temporary file in the same directory,
// syncs it, then moves it into place. Parent directories are created 0700.
//
// With noClobber it fails with an fs.ErrExist error instead of replacing an
// existing file, so two processes creating an identity at once cannot each
// end up running with a key the other overwrote.
func writeFile(path string, data []byte, noClobber bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Before the key lands, so it is never briefly committable to git.
	if err := dropGitignore(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op once renamed; drops the extra link after os.Link
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if noClobber {
		err := os.Link(tmpName, path)
		if err == nil || errors.Is(err, fs.ErrExist) {
			return err
		}
		// The filesystem has no hard links (FAT, some FUSE mounts): give up
		// only the race protection, not the write.
	}
	return os.Rename(tmpName, path)
}

// dropGitignore writes "*" to .gitignore in the innermost .agentchat
// directory containing dir, unless one exists, because .agentchat often sits
// inside a project checkout and must never be committed with a private key.
func dropGitignore(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if filepath.Base(d) == ".agentchat" {
			return writeIfMissing(filepath.Join(d, ".gitignore"), []byte("*\n"))
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

func writeIfMissing(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
