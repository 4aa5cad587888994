package audit

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/audit/encryption"
	testcluster "github.com/keyward/keyward/test/cluster"
)

// TestEncryptionAtRest walks a cluster through turning encryption at rest
// on and rotating its key, as an operator would, and checks at each step
// what `keyward audit encryption` reads from etcd: plaintext before; old
// Secrets still plaintext (with the note) and new ones under aescbc after;
// all encrypted after --fix; the old key a finding after rotation, until
// --fix again. No planted value or key may appear in any output.
func TestEncryptionAtRest(t *testing.T) {
	ctx := background(t)
	start := time.Now()
	cluster, err := testcluster.Start(ctx, testcluster.Options{NoControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Stop() })
	t.Logf("cluster up in %s", time.Since(start).Round(time.Millisecond))

	var runs []result
	planted := map[string]string{} // "ns/name" → value
	run := func(args ...string) result {
		t.Helper()
		base := []string{"audit", "encryption", "--no-progress", "--kubeconfig", cluster.Kubeconfig, "--etcd-endpoint", cluster.EtcdURL}
		r := keyward(t, append(base, args...)...)
		runs = append(runs, r)
		return r
	}
	records := func(r result, ns ...string) map[string]encryption.Record {
		t.Helper()
		var recs []encryption.Record
		if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
			t.Fatalf("keyward %s: exit %d, stdout not JSON records: %v\n%s\n%s", r.commandLine, r.code, err, r.stdout, r.stderr)
		}
		out := map[string]encryption.Record{}
		for _, rec := range recs {
			for _, n := range ns {
				if rec.Namespace == n {
					out[rec.Namespace+"/"+rec.Name] = rec
				}
			}
		}
		return out
	}
	create := func(ns, name string) {
		t.Helper()
		value := "planted-" + plantedValue(t, 12)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{"password": []byte(value)}}
		if _, err := cluster.Clientset.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		planted[ns+"/"+name] = value
	}
	type want struct {
		encrypted bool
		provider  string
		key       string
		severity  string
	}
	expect := func(got map[string]encryption.Record, wants map[string]want) {
		t.Helper()
		if len(got) != len(wants) {
			t.Errorf("records %v, want %d of them", recordNames(got), len(wants))
		}
		for k, w := range wants {
			r, ok := got[k]
			if !ok {
				t.Errorf("no record for %s", k)
				continue
			}
			if r.Encrypted != w.encrypted || r.Provider != w.provider || r.Key != w.key || r.Severity.String() != w.severity {
				t.Errorf("%s: encrypted=%v provider=%s key=%q severity=%s, want %+v", k, r.Encrypted, r.Provider, r.Key, r.Severity, w)
			}
		}
	}
	plaintext := want{false, encryption.Identity, "", "high"}

	for _, ns := range []string{"enc-a", "enc-b"} {
		if _, err := cluster.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("enc-a", "old-a")
	create("enc-b", "old-b")

	// 1. No EncryptionConfiguration: etcd holds plaintext.
	r := run("-o", "json")
	if r.code != 1 {
		t.Errorf("no encryption: exit %d, want 1 (plaintext is high)\n%s", r.code, r.stderr)
	}
	expect(records(r, "enc-a", "enc-b"), map[string]want{"enc-a/old-a": plaintext, "enc-b/old-b": plaintext})
	r = run()
	if !strings.Contains(r.stdout, "no sign that the API server encrypts") {
		t.Errorf("table without encryption lacks the note:\n%s", r.stdout)
	}

	// Under `keyward audit` the check is skipped without etcd or a file,
	// and runs with them.
	r = keyward(t, "audit", "--no-progress", "--kubeconfig", cluster.Kubeconfig)
	runs = append(runs, r)
	if !strings.Contains(r.stdout, "encryption: skipped: needs --etcd-endpoint") {
		t.Errorf("keyward audit: no skip note for encryption:\n%s\n%s", r.stdout, r.stderr)
	}
	r = keyward(t, "audit", "--no-progress", "--kubeconfig", cluster.Kubeconfig, "--etcd-endpoint", cluster.EtcdURL, "-o", "json")
	runs = append(runs, r)
	var all struct {
		Encryption []encryption.Record `json:"encryption"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all.Encryption) < 2 {
		t.Errorf("keyward audit --etcd-endpoint -o json: %v, %d encryption records\n%s", err, len(all.Encryption), r.stderr)
	}

	// 2. Turn on aescbc; Secrets written before stay plaintext.
	k1 := aescbcKey(t)
	dir := t.TempDir()
	cfg1 := writeEncryptionConfig(t, dir, "enc1.yaml", []namedKey{{"k1", k1}})
	if err := cluster.RestartAPIServer(ctx, map[string][]string{"encryption-provider-config": {cfg1}}); err != nil {
		t.Fatal(err)
	}
	create("enc-a", "new-a")
	enc1 := want{true, encryption.AESCBC, "k1", "none"}
	r = run("--encryption-config", cfg1, "-o", "json")
	expect(records(r, "enc-a", "enc-b"), map[string]want{"enc-a/old-a": plaintext, "enc-b/old-b": plaintext, "enc-a/new-a": enc1})
	r = run("--encryption-config", cfg1)
	if !strings.Contains(r.stdout, "written before encryption was turned on") || !strings.Contains(r.stdout, "--fix rewrites them") {
		t.Errorf("table lacks the written-before note:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, cfg1+":6: low no-rotation:") {
		t.Errorf("table lacks the lint finding with file:line:\n%s", r.stdout)
	}
	// --namespace reads one namespace's keys only.
	r = run("--encryption-config", cfg1, "-n", "enc-b", "-o", "json")
	if got := records(r, "enc-a", "enc-b", "default", "kube-system"); len(got) != 1 || got["enc-b/old-b"].Name != "old-b" {
		t.Errorf("-n enc-b: records %v, want enc-b/old-b alone", recordNames(got))
	}
	run("--encryption-config", cfg1, "-o", "sarif")

	// 3. --fix rewrites the plaintext ones; etcd then holds them under k1.
	r = run("--encryption-config", cfg1, "--fix", "-o", "json")
	if r.code != 0 {
		t.Errorf("--fix: exit %d, want 0 (only info and low lint findings left)\n%s", r.code, r.stderr)
	}
	expect(records(r, "enc-a", "enc-b"), map[string]want{"enc-a/old-a": enc1, "enc-b/old-b": enc1, "enc-a/new-a": enc1})
	r = run("--encryption-config", cfg1, "-o", "json")
	expect(records(r, "enc-a", "enc-b"), map[string]want{"enc-a/old-a": enc1, "enc-b/old-b": enc1, "enc-a/new-a": enc1})

	// 4. Rotate: k2 first, k1 still read. Everything is under the old key.
	k2 := aescbcKey(t)
	cfg2 := writeEncryptionConfig(t, dir, "enc2.yaml", []namedKey{{"k2", k2}, {"k1", k1}})
	if err := cluster.RestartAPIServer(ctx, map[string][]string{"encryption-provider-config": {cfg2}}); err != nil {
		t.Fatal(err)
	}
	old := want{true, encryption.AESCBC, "k1", "medium"}
	r = run("--encryption-config", cfg2, "--fail-on", "medium", "-o", "json")
	if r.code != 1 {
		t.Errorf("old key with --fail-on medium: exit %d, want 1\n%s", r.code, r.stderr)
	}
	expect(records(r, "enc-a", "enc-b"), map[string]want{"enc-a/old-a": old, "enc-b/old-b": old, "enc-a/new-a": old})
	r = run("--encryption-config", cfg2)
	if !strings.Contains(r.stdout, "under an older key") {
		t.Errorf("table lacks the older-key note:\n%s", r.stdout)
	}
	enc2 := want{true, encryption.AESCBC, "k2", "none"}
	r = run("--encryption-config", cfg2, "--fix", "--fail-on", "medium", "-o", "json")
	if r.code != 0 {
		t.Errorf("--fix after rotation: exit %d, want 0\n%s", r.code, r.stderr)
	}
	expect(records(r, "enc-a", "enc-b"), map[string]want{"enc-a/old-a": enc2, "enc-b/old-b": enc2, "enc-a/new-a": enc2})

	// The rewrites kept every value.
	for k, v := range planted {
		ns, name, _ := strings.Cut(k, "/")
		s, err := cluster.Clientset.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(s.Data["password"]) != v {
			t.Errorf("%s: value changed by --fix", k)
		}
	}
	// Paging gives the same answer as one big page.
	etcd, err := encryption.Dial(ctx, clientv3.Config{Endpoints: []string{cluster.EtcdURL}})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	whole, err := encryption.Read(ctx, etcd, encryption.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	paged, err := encryption.Read(ctx, etcd, encryption.ReadOptions{PageSize: 1, Progress: func(int) { pages++ }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(whole, paged) || len(whole) < 3 || pages != len(whole) {
		t.Errorf("read in pages of 1: %d Secrets in %d pages, want the %d of one read", len(paged), pages, len(whole))
	}

	values := []string{k1, k2}
	for _, v := range planted {
		values = append(values, v)
	}
	for _, r := range runs {
		noLeak(t, r, values...)
	}
	t.Logf("%d runs, whole test %s", len(runs), time.Since(start).Round(time.Millisecond))
}

// TestEncryptionBadInput needs no cluster: an etcd that does not answer and
// a command line with nothing to check both fail with exit 2 and say why.
func TestEncryptionBadInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unreachable etcd", []string{"--etcd-endpoint", dead}, "etcd endpoint " + dead + ": no answer"},
		{"nothing to check", nil, "pass --etcd-endpoint"},
		{"fix without etcd", []string{"--encryption-config", "x.yaml", "--fix"}, "--fix needs --etcd-endpoint"},
		{"missing config file", []string{"--encryption-config", filepath.Join(t.TempDir(), "none.yaml")}, "--encryption-config: open"},
		{"CA file without PEM", []string{"--etcd-endpoint", dead, "--etcd-cacert", notPEM}, "--etcd-cacert " + notPEM + ": no PEM certificate"},
		{"cert without key", []string{"--etcd-endpoint", dead, "--etcd-cert", "c.pem"}, "--etcd-cert and --etcd-key go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := keyward(t, append([]string{"audit", "encryption", "--no-progress"}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("a failed check printed on stdout: %q", r.stdout)
			}
		})
	}
}

type namedKey struct{ name, secret string }

// writeEncryptionConfig writes an aescbc configuration for Secrets with
// keys (the first writes) and identity last, so Secrets written before
// stay readable.
func writeEncryptionConfig(t *testing.T, dir, name string, keys []namedKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aescbc:\n          keys:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "            - name: %s\n              secret: %s\n", k.name, k.secret)
	}
	b.WriteString("      - identity: {}\n")
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func aescbcKey(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func plantedValue(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func recordNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
