package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/keyward/keyward/internal/keys"
)

// A key backup holds private keys: written over an existing 0644 file it
// still ends 0600, and it reads back as the same keys.
func TestKeyBackupFileIsPrivate(t *testing.T) {
	pair, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientset(pair.Secret("kube-system", "sealed-secrets-keyabcde", nil, nil)).CoreV1()
	list, err := keys.Backup(context.Background(), kube, "kube-system", keys.DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, existing := range []os.FileMode{0, 0o644, 0o666} {
		t.Run(existing.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "backup.yaml")
			if existing != 0 {
				if err := os.WriteFile(path, []byte("old"), existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, existing); err != nil {
					t.Fatal(err)
				}
			}
			var stdout bytes.Buffer
			if err := writeKeyBackup(Streams{Out: &stdout}, path, "yaml", list); err != nil {
				t.Fatal(err)
			}
			if stdout.Len() != 0 {
				t.Fatalf("key material on standard output: %d bytes", stdout.Len())
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("backup mode %v, want 0600", fi.Mode().Perm())
			}
			got, err := keys.ReadPrivateKeyFiles([]string{path})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !got[0].Equal(pair.Key) {
				t.Fatalf("backup reads back as %d keys", len(got))
			}
		})
	}
}
