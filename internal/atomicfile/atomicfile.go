// Package atomicfile replaces files whole: a reader sees the old content or
// the new, never a half-written file, and a crash after Write returns keeps
// the new one.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with b and leaves it with exactly mode, also when
// path existed with another one: an old 0644 file must not leave plaintext
// readable to others. A symbolic link is followed, so its target is what
// changes. A path that is not a regular file (a terminal, /dev/stdout, a
// pipe) is written in place, where renaming over it would be wrong and a
// mode means nothing.
func Write(path string, b []byte, mode os.FileMode) error {
	return write(path, b, mode, false)
}

// WriteKeepMode is Write for files whose permissions belong to their owner
// (a manifest in a repository, a certificate): an existing file keeps its
// mode, and mode applies to a new one only.
func WriteKeepMode(path string, b []byte, mode os.FileMode) error {
	return write(path, b, mode, true)
}

func write(path string, b []byte, mode os.FileMode, keepMode bool) error {
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			target = resolved
		}
	}
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return writeInPlace(path, b)
		}
		if keepMode {
			mode = fi.Mode().Perm()
		}
	}
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name means nothing to the user
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	// Set the mode before any byte is written: CreateTemp's 0600 already
	// keeps the content private, and Chmod makes it exactly the mode asked.
	if err := tmp.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Synced before the rename, so a crash leaves the old file or the new
	// one, never an empty one.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, target); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	ok = true
	// The rename is durable once the directory is synced; a file system
	// that cannot sync a directory has already made the file durable.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeInPlace writes to an existing non-regular file such as a terminal or
// pipe.
func writeInPlace(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
