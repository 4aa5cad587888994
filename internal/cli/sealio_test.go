package cli

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keys"
)

func TestReadCertFromURL(t *testing.T) {
	pair, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/cert.pem" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pair.CertPEM())
	}))
	defer srv.Close()
	ctx := context.Background()
	readCert := func(ctx context.Context, src string) (*rsa.PublicKey, error) {
		f := certFlags{cert: src}
		return f.publicKey(ctx, func(string) string { return "" })
	}
	pub, err := readCert(ctx, srv.URL+"/v1/cert.pem")
	if err != nil || !pub.Equal(&pair.Key.PublicKey) {
		t.Fatalf("http: %v", err)
	}
	if _, err := readCert(ctx, srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "404 Not Found") {
		t.Fatalf("404: %v", err)
	}
	path := filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(path, pair.CertPEM(), 0o644)
	for _, src := range []string{path, "file://" + path} {
		if pub, err := readCert(ctx, src); err != nil || !pub.Equal(&pair.Key.PublicKey) {
			t.Fatalf("%s: %v", src, err)
		}
	}
	// No --cert and no cluster: the error says how to seal offline.
	if _, err := readCert(ctx, ""); err == nil || !strings.Contains(err.Error(), "--cert FILE|URL") {
		t.Fatalf("empty: %v", err)
	}
}

func TestKubeconfigNamespace(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	a := write("a", "current-context: one\ncontexts:\n- name: one\n  context: {namespace: ns-one}\n- name: bare\n  context: {}\n")
	b := write("b", "contexts:\n- name: two\n  context: {namespace: ns-two}\n")
	bad := write("bad", "contexts: [")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name       string
		env        map[string]string
		kubeconfig string
		context    string
		want       string
		wantErr    string
	}{
		{name: "no kubeconfig anywhere", env: map[string]string{"HOME": dir}, want: ""},
		{name: "flag", kubeconfig: a, want: "ns-one"},
		{name: "context without namespace is default", kubeconfig: a, context: "bare", want: "default"},
		{name: "KUBECONFIG list merges", env: map[string]string{"KUBECONFIG": a + string(os.PathListSeparator) + b}, context: "two", want: "ns-two"},
		{name: "missing files in KUBECONFIG are skipped", env: map[string]string{"KUBECONFIG": filepath.Join(dir, "nope") + string(os.PathListSeparator) + a}, want: "ns-one"},
		{name: "unknown context", kubeconfig: a, context: "zzz", wantErr: `kubeconfig has no context "zzz"`},
		{name: "missing flag file", kubeconfig: filepath.Join(dir, "nope"), wantErr: "reading kubeconfig"},
		{name: "bad yaml", kubeconfig: bad, wantErr: "is not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kubeconfigNamespace(env(tt.env), tt.kubeconfig, tt.context)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// Private output ends 0600 even over an existing wider file; public output
// keeps an existing file's mode. No temporary file is left behind.
func TestWriteFileAtomicMode(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // 0: no file before
		mode     os.FileMode
		want     os.FileMode
	}{
		{"new private", 0, privateFile, 0o600},
		{"private over 0644", 0o644, privateFile, 0o600},
		{"private over 0666", 0o666, privateFile, 0o600},
		{"private over 0640", 0o640, privateFile, 0o600},
		{"private over 0400", 0o400, privateFile, 0o600},
		{"new public", 0, publicFile, 0o644},
		{"public keeps 0640", 0o640, publicFile, 0o640},
		{"public keeps 0600", 0o600, publicFile, 0o600},
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
			if err := writeFileAtomic(p, []byte("new"), tt.mode); err != nil {
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
func TestWriteFileAtomicFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(link, []byte("new"), privateFile); err != nil {
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
func TestWriteFileAtomicDevice(t *testing.T) {
	if _, err := os.Stat(os.DevNull); err != nil {
		t.Fatalf("no %s: %v", os.DevNull, err)
	}
	if err := writeFileAtomic(os.DevNull, []byte("x"), privateFile); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(os.DevNull)
	if err != nil || fi.Mode().IsRegular() {
		t.Fatalf("%s is now %v (%v)", os.DevNull, fi, err)
	}
}
