package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Keys are read from PEM files and from key Secret backups alike; a file
// with neither says so.
func TestReadPrivateKeyFiles(t *testing.T) {
	a, b := newPair(t), newPair(t)
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "a.pem")
	if err := os.WriteFile(pemFile, a.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	backup, err := yaml.Marshal(b.Secret("kube-system", "sealed-secrets-keyb", nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	backupFile := filepath.Join(dir, "backup.yaml")
	if err := os.WriteFile(backupFile, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPrivateKeyFiles([]string{pemFile, "", backupFile})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Equal(a.Key) || !got[1].Equal(b.Key) {
		t.Fatalf("read %d keys, want a's then b's", len(got))
	}

	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("---\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivateKeyFiles([]string{empty}); err == nil || !strings.Contains(err.Error(), "no PEM key and no key Secret") {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := ReadPrivateKeyFiles(nil); err == nil || err.Error() != "no private key given" {
		t.Fatalf("no file: %v", err)
	}
}
