package reuse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
	"github.com/keyward/keyward/test/leak"
)

const shared = "shared-password-0815"

func secret(ns, name string, typ corev1.SecretType, kv ...string) corev1.Secret {
	s := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: typ, Data: map[string][]byte{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Data[kv[i]] = []byte(kv[i+1])
	}
	return s
}

func snap(secrets ...corev1.Secret) *inventory.Snapshot { return &inventory.Snapshot{Secrets: secrets} }

func TestCheck(t *testing.T) {
	key := make([]byte, KeySize)
	tests := []struct {
		name    string
		in      []Input
		want    []string // members of each group, joined
		wantSev []audit.Severity
	}{
		{
			name: "staging and production share a value",
			in: []Input{{Snapshot: snap(
				secret("shop-staging", "db", "", "password", shared),
				secret("shop-prod", "db", "", "pw", shared),
				secret("shop-prod", "other", "", "pw", "another-value-123"))}},
			want:    []string{"shop-prod/db[pw] shop-staging/db[password]"},
			wantSev: []audit.Severity{audit.High},
		},
		{
			name: "two namespaces of no known environment",
			in: []Input{{Snapshot: snap(
				secret("team-a", "db", "", "password", shared),
				secret("team-b", "db", "", "password", shared))}},
			want:    []string{"team-a/db[password] team-b/db[password]"},
			wantSev: []audit.Severity{audit.Medium},
		},
		{
			name: "two clusters, same namespace",
			in: []Input{
				{Context: "east", Snapshot: snap(secret("app", "db", "", "password", shared))},
				{Context: "west", Snapshot: snap(secret("app", "db", "", "password", shared))},
			},
			want:    []string{"east:app/db[password] west:app/db[password]"},
			wantSev: []audit.Severity{audit.High},
		},
		{
			name: "near miss: same value twice in one namespace",
			in: []Input{{Snapshot: snap(
				secret("app", "a", "", "password", shared),
				secret("app", "b", "", "password", shared))}},
		},
		{
			name: "near miss: values differ",
			in: []Input{{Snapshot: snap(
				secret("shop-staging", "db", "", "password", shared),
				secret("shop-prod", "db", "", "password", shared+"x"))}},
		},
		{
			name: "near miss: short values, ca.crt and Kubernetes' tokens",
			in: []Input{{Snapshot: snap(
				secret("a-prod", "s", "", "user", "admin", "ca.crt", "-----BEGIN CERTIFICATE-----same"),
				secret("a-dev", "s", "", "user", "admin", "ca.crt", "-----BEGIN CERTIFICATE-----same"),
				secret("a-prod", "t", corev1.SecretTypeServiceAccountToken, "token", shared),
				secret("a-dev", "t", corev1.SecretTypeServiceAccountToken, "token", shared),
				secret("a-prod", "sh.helm.release.v1.x.v1", "helm.sh/release.v1", "release", shared),
				secret("a-dev", "sh.helm.release.v1.x.v1", "helm.sh/release.v1", "release", shared))}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.in, Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			recs := res.Records.([]Record)
			var got []string
			var sevs []audit.Severity
			for _, r := range recs {
				var names []string
				for _, m := range r.Members {
					names = append(names, m.String())
				}
				got = append(got, strings.Join(names, " "))
				sevs = append(sevs, r.Severity)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(sevs) != len(tt.wantSev) {
				t.Fatalf("groups %q, want %q", got, tt.want)
			}
			for i := range sevs {
				if sevs[i] != tt.wantSev[i] || recs[i].Group != i+1 {
					t.Errorf("group %d: severity %s, want %s", recs[i].Group, sevs[i], tt.wantSev[i])
				}
			}
			if len(res.Findings) != len(recs) {
				t.Errorf("%d findings for %d groups", len(res.Findings), len(recs))
			}
			var all strings.Builder
			for _, f := range res.Findings {
				all.WriteString(f.Message)
			}
			for _, row := range res.Rows {
				all.WriteString(strings.Join(row, " "))
			}
			for _, f := range leak.In(all.String(), shared) {
				t.Errorf("output holds the value as %s", f.Name)
			}
		})
	}
}

func TestCheckNeedsAKey(t *testing.T) {
	if _, err := Check(nil, Options{}); err == nil {
		t.Fatal("no error without a key")
	}
}

func TestEnvironment(t *testing.T) {
	for ns, want := range map[string]string{
		"payments-prod": "production", "prod": "production", "staging": "staging", "web.stg": "staging",
		"qa_team": "test", "product": "", "devops": "", "kube-system": "",
	} {
		if got := Environment(ns); got != want {
			t.Errorf("Environment(%q) = %q, want %q", ns, got, want)
		}
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyward", "audit.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || len(k1) != KeySize {
		t.Fatalf("key file: %v mode %v len %d", err, st.Mode(), len(k1))
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second load: %v, same key %v", err, string(k1) == string(k2))
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("readable key accepted: %v", err)
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(short); err == nil || !strings.Contains(err.Error(), "3 bytes") {
		t.Errorf("short key accepted: %v", err)
	}
	env := map[string]string{"HOME": "/home/u"}
	if p, _ := DefaultKeyPath(func(k string) string { return env[k] }); p != "/home/u/.config/keyward/audit.key" {
		t.Errorf("default path %s", p)
	}
	env["XDG_CONFIG_HOME"] = "/x"
	if p, _ := DefaultKeyPath(func(k string) string { return env[k] }); p != "/x/keyward/audit.key" {
		t.Errorf("XDG path %s", p)
	}
}
