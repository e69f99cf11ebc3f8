package transfer

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// readPaths reads the files to send: a regular file is named by its base
// name; a directory contributes every regular file under it, named by the
// directory's base name and the path below it with "/" separators.
// Symbolic links given as arguments are followed; those found inside a
// directory are skipped, as are other non-regular files. It stops as soon
// as the sizes pass limit, before reading more.
func readPaths(paths []string, limit int64) ([]File, error) {
	var files []File
	var total int64
	add := func(p, name string, size int64) error {
		total += size
		if total > limit {
			return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: name, Data: data})
		return nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.Mode().IsRegular() {
			if err := add(p, filepath.Base(p), fi.Size()); err != nil {
				return nil, err
			}
			continue
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s is neither a regular file nor a directory", p)
		}
		base := filepath.Base(filepath.Clean(p))
		err = filepath.WalkDir(p, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(p, fp)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return add(fp, path.Join(base, filepath.ToSlash(rel)), info.Size())
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// checkFiles refuses what a receiver would refuse or the archive could not
// carry: no files, duplicate or unsafe names (checkName), names that would
// not parse back as the same block header, and too much data.
func checkFiles(files []File, limit int64) error {
	if len(files) == 0 {
		return fmt.Errorf("no files to send")
	}
	seen := make(map[string]bool, len(files))
	var total int64
	for _, f := range files {
		if err := checkName(f.Name); err != nil {
			return err
		}
		if strings.HasPrefix(f.Name, "END ") || strings.HasSuffix(f.Name, binaryTag) {
			return fmt.Errorf("%w: %q cannot be named in a SLURP block header", ErrUnsafePath, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("file %q given twice", f.Name)
		}
		seen[f.Name] = true
		total += int64(len(f.Data))
	}
	if total > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, total, limit)
	}
	return nil
}
