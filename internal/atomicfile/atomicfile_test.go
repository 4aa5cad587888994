package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// Write ends with exactly its mode even over an existing wider file;
// WriteKeepMode keeps an existing file's mode. No temporary file is left
// behind.
func TestWriteMode(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // 0: no file before
		keep     bool        // WriteKeepMode
		mode     os.FileMode
		want     os.FileMode
	}{
		{"new 0600", 0, false, 0o600, 0o600},
		{"0600 over 0644", 0o644, false, 0o600, 0o600},
		{"0600 over 0666", 0o666, false, 0o600, 0o600},
		{"0600 over 0640", 0o640, false, 0o600, 0o600},
		{"0600 over 0400", 0o400, false, 0o600, 0o600},
		{"0644 over 0600", 0o600, false, 0o644, 0o644},
		{"new, keep", 0, true, 0o644, 0o644},
		{"keep 0640", 0o640, true, 0o644, 0o640},
		{"keep 0600", 0o600, true, 0o644, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if tt.existing != 0 {
				if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			w := Write
			if tt.keep {
				w = WriteKeepMode
			}
			if err := w(p, []byte("new"), tt.mode); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			if fi.Mode().Perm() != tt.want || string(b) != "new" {
				t.Fatalf("mode %v content %q, want %v", fi.Mode().Perm(), b, tt.want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Fatalf("temporary files left: %v", entries)
			}
		})
	}
}

// A symbolic link is followed: the target is replaced, with the private
// mode, and the link stays a link.
func TestWriteFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced: %v %v", fi, err)
	}
	fi, _ := os.Stat(target)
	b, _ := os.ReadFile(target)
	if fi.Mode().Perm() != 0o600 || string(b) != "new" {
		t.Fatalf("target mode %v content %q", fi.Mode().Perm(), b)
	}
}

// A device such as /dev/null is written in place, not renamed over.
func TestWriteDevice(t *testing.T) {
	if _, err := os.Stat(os.DevNull); err != nil {
		t.Fatalf("no %s: %v", os.DevNull, err)
	}
	if err := Write(os.DevNull, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(os.DevNull)
	if err != nil || fi.Mode().IsRegular() {
		t.Fatalf("%s is now %v (%v)", os.DevNull, fi, err)
	}
}
