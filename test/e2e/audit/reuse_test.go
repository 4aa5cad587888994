package audit

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/reuse"
)

// The reuse check on the real API server: a value shared by a production
// and a staging namespace is high, by two ordinary namespaces medium; a
// value repeated inside one namespace, a short one, and Kubernetes' tokens
// are not reported. Two kubeconfig contexts (both to this cluster: a
// second cluster would double the test's time for no other code path)
// make every Secret of a namespace a cross-cluster group.
func TestAuditReuse(t *testing.T) {
	c := plainCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prod := earNamespace(ctx, t, c, "shop-prod")
	staging := earNamespace(ctx, t, c, "shop-staging")
	teamA := earNamespace(ctx, t, c, "team-a")
	teamB := earNamespace(ctx, t, c, "team-b")
	const envShared = "reuse-planted-env-5b0e2"
	const teamShared = "reuse-planted-team-91ad7"
	const local = "reuse-planted-local-c3f10"
	const short = "pw-123"
	put := func(ns, name string, typ corev1.SecretType, kv ...string) {
		t.Helper()
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: typ, Data: map[string][]byte{}}
		if typ == corev1.SecretTypeServiceAccountToken {
			s.Annotations = map[string]string{corev1.ServiceAccountNameKey: "default"}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Data[kv[i]] = []byte(kv[i+1])
		}
		if _, err := c.Clientset.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Secret %s/%s: %v", ns, name, err)
		}
	}
	put(prod, "db", "", "password", envShared, "user", short)
	put(staging, "db", "", "password", envShared, "user", short)
	put(teamA, "api", "", "token", teamShared, "local", local)
	put(teamB, "api", "", "token", teamShared)
	put(teamA, "api-copy", "", "local", local) // same namespace: not reuse
	put(prod, "tok", corev1.SecretTypeServiceAccountToken, "token", "reuse-sa-token-value-0001")
	put(staging, "tok", corev1.SecretTypeServiceAccountToken, "token", "reuse-sa-token-value-0001")

	home := t.TempDir()
	env := map[string]string{"HOME": home}
	members := func(r reuse.Record) string {
		var out []string
		for _, m := range r.Members {
			if m.Namespace == prod || m.Namespace == staging || m.Namespace == teamA || m.Namespace == teamB {
				out = append(out, m.String())
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	code, stdout, stderr := earRun(t, c, env, "audit", "reuse", "-o", "json", "--no-progress")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr: %s", code, stderr)
	}
	got := map[string]audit.Severity{}
	for _, r := range earJSON[reuse.Record](t, stdout, stderr) {
		if m := members(r); m != "" {
			got[m] = r.Severity
		}
	}
	want := map[string]audit.Severity{
		prod + "/db[password] " + staging + "/db[password]": audit.High,
		teamA + "/api[token] " + teamB + "/api[token]":      audit.Medium,
	}
	for m, sev := range want {
		if got[m] != sev {
			t.Errorf("group %q: severity %s, want %s", m, got[m], sev)
		}
		delete(got, m)
	}
	for m := range got {
		t.Errorf("reported, but should not be: %q", m)
	}

	// The key was made on first use, private, and is used again.
	keyPath := filepath.Join(home, ".config", "keyward", "audit.key")
	st, err := os.Stat(keyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	key, _ := os.ReadFile(keyPath)

	// Two contexts, one namespace: the namespace's Secrets are each a group
	// spanning clusters.
	cfg, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	for _, name := range []string{"east", "west"} {
		ctxCopy := *cur
		cfg.Contexts[name] = &ctxCopy
	}
	two := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, two); err != nil {
		t.Fatal(err)
	}
	code, stdout2, stderr2 := earRun(t, c, map[string]string{"HOME": home, "KUBECONFIG": two},
		"audit", "reuse", "--context", "east", "--context", "west", "-n", teamA, "-o", "json", "--no-progress")
	if code != 1 {
		t.Errorf("two contexts: exit %d, want 1; stderr: %s", code, stderr2)
	}
	got = map[string]audit.Severity{}
	for _, r := range earJSON[reuse.Record](t, stdout2, stderr2) {
		got[members(r)] = r.Severity
	}
	want = map[string]audit.Severity{
		"east:" + teamA + "/api-copy[local] east:" + teamA + "/api[local] west:" + teamA + "/api-copy[local] west:" + teamA + "/api[local]": audit.High,
		"east:" + teamA + "/api[token] west:" + teamA + "/api[token]":                                                                       audit.High,
	}
	for m, sev := range want {
		if got[m] != sev {
			t.Errorf("two contexts, group %q: severity %s, want %s (got %v)", m, got[m], sev, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("two contexts: %d groups, want %d: %v", len(got), len(want), got)
	}

	// --hmac-key elsewhere, and a key file others can read is refused.
	loose := filepath.Join(t.TempDir(), "loose.key")
	if err := os.WriteFile(loose, key, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr3 := earRun(t, c, env, "audit", "reuse", "--hmac-key", loose, "--no-progress")
	if code != 2 || !earContains(stderr3, "chmod 600") {
		t.Errorf("loose key: exit %d, stderr %q", code, stderr3)
	}
	_, table, tableErr := earRun(t, c, env, "audit", "reuse", "--no-progress")
	earNoLeak(t, []string{envShared, teamShared, local, short, string(key), hex.EncodeToString(key)},
		stdout, stderr, stdout2, stderr2, stderr3, table, tableErr)
}
