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
