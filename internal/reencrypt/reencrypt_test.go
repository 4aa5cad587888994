package reencrypt

import (
	"context"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

const planted = "reencrypt-planted-value"

func pair(t *testing.T) *keys.Pair {
	t.Helper()
	p, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sealedYAML(t *testing.T, p *keys.Pair, name string) string {
	t.Helper()
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name},
		StringData: map[string]string{"password": planted, "user": "app"},
	}
	ss, err := sealing.Seal(s, &p.Key.PublicKey, sealing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealing.Encode("yaml", ss)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openWith(t *testing.T, content string, k *rsa.PrivateKey) []*corev1.Secret {
	t.Helper()
	docs, err := sealing.ReadDocuments(strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	var out []*corev1.Secret
	for _, d := range docs {
		if d.Kind != ssv1.Kind {
			continue
		}
		ss, err := sealing.DecodeSealedSecret(d)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sealing.Unseal(ss, []*rsa.PrivateKey{k})
		if err != nil {
			t.Fatalf("%s does not open with the new key: %v", d, err)
		}
		out = append(out, s)
	}
	return out
}

func TestTreeChangesOnlyCiphertexts(t *testing.T) {
	old, cur := pair(t), pair(t)
	dir := t.TempDir()
	manifest := "# database credentials\n" + sealedYAML(t, old, "db") +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: prod # keep\n---\n" +
		strings.TrimPrefix(sealedYAML(t, cur, "already-current"), "---\n")
	write(t, filepath.Join(dir, "prod", "secrets.yaml"), manifest)
	ssJSON, _ := sealing.Encode("json", mustDecode(t, sealedYAML(t, old, "api")))
	write(t, filepath.Join(dir, "prod", "api.json"), string(ssJSON))
	helm := "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: {{ .Values.name }}\n"
	write(t, filepath.Join(dir, "chart", "templates", "sealed.yaml"), helm)
	hidden := sealedYAML(t, old, "hidden")
	write(t, filepath.Join(dir, ".git", "x.yaml"), hidden)

	r := Offline{Keys: []*rsa.PrivateKey{old.Key, cur.Key}, Target: &cur.Key.PublicKey}
	var calls int
	st, err := Tree(context.Background(), []string{dir}, r, Options{Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 3 || st.Changed != 2 || st.SealedSecrets != 3 || st.Values != 4 || calls != 3 {
		t.Fatalf("stats %+v, progress calls %d", st, calls)
	}

	got := read(t, filepath.Join(dir, "prod", "secrets.yaml"))
	before, after := strings.Split(manifest, "\n"), strings.Split(got, "\n")
	if len(before) != len(after) {
		t.Fatalf("line count changed: %d -> %d", len(before), len(after))
	}
	var changed int
	for i := range before {
		if before[i] != after[i] {
			changed++
			if !strings.HasPrefix(strings.TrimSpace(after[i]), "password: ") && !strings.HasPrefix(strings.TrimSpace(after[i]), "user: ") {
				t.Errorf("line %d changed but is not a ciphertext: %q", i+1, after[i])
			}
		}
	}
	if changed != 2 {
		t.Fatalf("%d lines changed, want the 2 items of the old-key SealedSecret", changed)
	}
	for _, s := range openWith(t, got, cur.Key) {
		if string(s.Data["password"]) != planted {
			t.Fatalf("%s: value changed", s.Name)
		}
	}
	openWith(t, read(t, filepath.Join(dir, "prod", "api.json")), cur.Key)
	if read(t, filepath.Join(dir, "chart", "templates", "sealed.yaml")) != helm {
		t.Fatal("a Helm template was rewritten")
	}
	if read(t, filepath.Join(dir, ".git", "x.yaml")) != hidden {
		t.Fatal("a file under .git was rewritten")
	}
	if info, _ := os.Stat(filepath.Join(dir, "prod", "secrets.yaml")); info.Mode().Perm() != 0o640 {
		t.Fatalf("file mode changed to %v", info.Mode().Perm())
	}

	// A second run has nothing left to do.
	st, err = Tree(context.Background(), []string{dir}, r, Options{})
	if err != nil || st.Changed != 0 {
		t.Fatalf("second run: %+v, %v", st, err)
	}
}

func TestFailureLeavesFileAlone(t *testing.T) {
	old, cur, stranger := pair(t), pair(t), pair(t)
	dir := t.TempDir()
	content := sealedYAML(t, old, "db") + sealedYAML(t, stranger, "other")
	path := filepath.Join(dir, "s.yaml")
	write(t, path, content)
	r := Offline{Keys: []*rsa.PrivateKey{old.Key}, Target: &cur.Key.PublicKey}
	_, err := Tree(context.Background(), []string{dir}, r, Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `item "password"`) {
		t.Fatalf("error = %v, want one naming the file and item", err)
	}
	if strings.Contains(err.Error(), planted) {
		t.Fatal("error carries the plaintext")
	}
	if read(t, path) != content {
		t.Fatal("a file with a failed SealedSecret was partly rewritten")
	}
}

func TestDryRun(t *testing.T) {
	old, cur := pair(t), pair(t)
	path := filepath.Join(t.TempDir(), "s.yml")
	content := sealedYAML(t, old, "db")
	write(t, path, content)
	st, err := Tree(context.Background(), []string{path}, Offline{Keys: []*rsa.PrivateKey{old.Key}, Target: &cur.Key.PublicKey}, Options{DryRun: true})
	if err != nil || st.Changed != 1 || read(t, path) != content {
		t.Fatalf("dry run: %+v, %v, file changed: %v", st, err, read(t, path) != content)
	}
}

func mustDecode(t *testing.T, y string) *ssv1.SealedSecret {
	t.Helper()
	docs, err := sealing.ReadDocuments(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := sealing.DecodeSealedSecret(docs[0])
	if err != nil {
		t.Fatal(err)
	}
	return ss
}
