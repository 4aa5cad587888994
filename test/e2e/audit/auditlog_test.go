package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/keyward/keyward/internal/audit/auditlog"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/leak"
)

// TestAuditLog runs a kube-apiserver with the policy `keyward audit policy`
// prints, makes ServiceAccounts read, lose access, get refused and
// impersonate, then checks what `keyward audit log` makes of the log, whole
// and split into a rotated, gzipped, overlapping set.
func TestAuditLog(t *testing.T) {
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()

	pr := keyward(t, "audit", "policy")
	if pr.code != 0 || pr.stdout != auditlog.Policy() {
		t.Fatalf("keyward audit policy: exit %d, %s", pr.code, pr.stderr)
	}
	policy := pr.stdout
	policyFile, logFile := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cluster, err := testcluster.Start(ctx, testcluster.Options{
		NoControllerManager: true,
		APIServerArgs: map[string][]string{
			"audit-policy-file": {policyFile},
			"audit-log-path":    {logFile},
		},
	})
	if err != nil {
		t.Fatalf("the API server did not start with the policy: %v", err)
	}
	defer cluster.Stop()
	t.Logf("cluster with audit log up in %s", time.Since(start).Round(time.Millisecond))

	// Planted values: none may reach the log or any output.
	dbValue, apiValue := "pw-"+rand.String(24), "key-"+rand.String(24)
	const ns = "app"
	c := cluster.Client
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	for name, v := range map[string]string{"db": dbValue, "api": apiValue} {
		must(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{"value": v}}))
	}
	secretsRule := func(verbs []string, names ...string) []rbacv1.PolicyRule {
		return []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs, ResourceNames: names}}
	}
	must(c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "get-db"}, Rules: secretsRule([]string{"get"}, "db")}))
	must(c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "list-all"}, Rules: secretsRule([]string{"get", "list"})}))
	bind := func(name, role string, s rbacv1.Subject) *rbacv1.RoleBinding {
		b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role}, Subjects: []rbacv1.Subject{s}}
		must(c.Create(ctx, b))
		return b
	}
	bind("reader", "get-db", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "reader", Namespace: ns})
	formerBinding := bind("former", "get-db", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "former", Namespace: ns})
	bind("team", "list-all", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "team"})

	// get reads db as the ServiceAccount, retrying while RBAC catches up
	// with the bindings just made; the failed tries are logged as denied.
	get := func(cl client.Client, name string) error {
		return cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.Secret{})
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: still not so after 20s", what)
			}
		}
	}
	reader, err := cluster.ServiceAccountClient(ctx, ns, "reader")
	must(err)
	former, err := cluster.ServiceAccountClient(ctx, ns, "former")
	must(err)
	outsider, err := cluster.ServiceAccountClient(ctx, ns, "outsider")
	must(err)
	eventually("reader reads db", func() bool { return get(reader, "db") == nil })
	eventually("former reads db", func() bool { return get(former, "db") == nil })
	must(c.Delete(ctx, formerBinding))
	eventually("former refused once its binding is gone", func() bool { return apierrors.IsForbidden(get(former, "db")) })
	if err := get(outsider, "db"); !apierrors.IsForbidden(err) {
		t.Fatalf("outsider reading db: %v, want forbidden", err)
	}
	must(get(c, "api"))
	// The admin acts as ann of group team, which may list app's Secrets.
	annCfg := rest.CopyConfig(cluster.Config)
	annCfg.Impersonate = rest.ImpersonationConfig{UserName: "ann", Groups: []string{"team"}}
	ann, err := client.New(annCfg, client.Options{})
	must(err)
	must(ann.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)))
	// A last request marks the end: once it is logged, so is all before it.
	if err := get(c, "marker"); !apierrors.IsNotFound(err) {
		t.Fatalf("marker: %v", err)
	}
	var raw []byte
	eventually("the marker request is logged", func() bool {
		raw, err = os.ReadFile(logFile)
		must(err)
		return bytes.Contains(raw, []byte(`"name":"marker"`)) && bytes.Contains(raw, []byte(`"ResponseComplete"`))
	})
	time.Sleep(300 * time.Millisecond)
	raw, err = os.ReadFile(logFile)
	must(err)
	for name, v := range map[string]string{"db": dbValue, "api": apiValue} {
		for _, f := range leak.In(string(raw), v) {
			t.Errorf("the audit log holds Secret %s's value (%s): the policy lets bodies through", name, f.Name)
		}
	}

	// The same log as a rotated set: older half gzipped under a rotated
	// name, newer half plain with a few lines of the older repeated, and a
	// line cut short at its end as a log being written has.
	logLines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(logLines) < 10 {
		t.Fatalf("the log has %d lines:\n%s", len(logLines), raw)
	}
	half := len(logLines) / 2
	rotated := filepath.Join(dir, "rotated")
	must(os.Mkdir(rotated, 0o700))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err = zw.Write([]byte(strings.Join(logLines[:half], "")))
	must(err)
	must(zw.Close())
	must(os.WriteFile(filepath.Join(rotated, "audit-2026-12-03T10-00-00.000.log"), gz.Bytes(), 0o600))
	current := strings.Join(logLines[half-3:], "") + "\n" + `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"cut`
	must(os.WriteFile(filepath.Join(rotated, "audit.log"), []byte(current), 0o600))
	corruptLine := len(logLines) - (half - 3) + 1

	kube := []string{"--kubeconfig", cluster.Kubeconfig, "--no-progress"}
	values := []string{dbValue, apiValue}
	run := func(args ...string) (int, string) {
		t.Helper()
		r := keyward(t, append(args, kube...)...)
		noLeak(t, r, values...)
		if r.stderr != "" {
			t.Logf("stderr of %v: %s", args, r.stderr)
		}
		return r.code, r.stdout
	}
	records := func(out string) []auditlog.Record {
		t.Helper()
		var recs []auditlog.Record
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			t.Fatalf("keyward audit log -o json: %v\n%s", err, out)
		}
		return recs
	}
	code, wholeJSON := run("audit", "log", logFile, "-o", "json")
	if code != 1 {
		t.Errorf("keyward audit log on the whole log: exit %d, want 1 (an unexpected reader is high)", code)
	}
	code, setJSON := run("audit", "log", rotated, "-o", "json")
	if code != 1 {
		t.Errorf("keyward audit log on the rotated set: exit %d, want 1", code)
	}
	whole, set := records(wholeJSON), records(setJSON)
	if !sameLogRecords(whole, set) {
		t.Errorf("the rotated set reads differently from the whole log:\nwhole: %s\nset:   %s", wholeJSON, setJSON)
	}

	sa := func(name string) string { return "system:serviceaccount:" + ns + ":" + name }
	find := func(user, secret string, denied bool) *auditlog.Record {
		for i, r := range set {
			if r.User == user && r.Namespace == ns && r.Secret == secret && r.Resource == "secrets" && r.Denied == denied {
				return &set[i]
			}
		}
		t.Errorf("no record of %s on secret %s (denied %v) in %s", user, secret, denied, setJSON)
		return nil
	}
	if r := find(sa("reader"), "db", false); r != nil && (!r.Compared || !r.Expected || r.Severity.String() != "none" || r.Subject.Name != "reader") {
		t.Errorf("reader: %+v, want an expected reader", *r)
	}
	if r := find(sa("former"), "db", false); r != nil && (!r.Compared || r.Expected || r.Severity.String() != "high") {
		t.Errorf("former: %+v, want an unexpected reader, high", *r)
	}
	find(sa("former"), "db", true)
	if r := find(sa("outsider"), "db", true); r != nil && (r.Severity.String() != "medium" || len(r.Codes) != 1 || r.Codes[0] != 403) {
		t.Errorf("outsider: %+v, want a denied attempt, medium", *r)
	}
	if r := find("keyward-admin", "api", false); r != nil && (!r.Expected || !slices.Contains(r.Groups, "system:masters")) {
		t.Errorf("admin: %+v, want an expected reader through system:masters", *r)
	}
	if r := find("ann", "*", false); r != nil && (r.Impersonator != "keyward-admin" || !r.Expected || !slices.Contains(r.Verbs, "list")) {
		t.Errorf("ann: %+v, want an expected list, impersonated by keyward-admin", *r)
	}
	tokens := 0
	for _, r := range set {
		if r.Resource == "serviceaccounts/token" && r.User == "keyward-admin" {
			tokens++
		}
	}
	if tokens != 3 {
		t.Errorf("%d token records by keyward-admin, want 3 (one per ServiceAccount client)", tokens)
	}

	// The table names the cut line and the copies skipped.
	_, table := run("audit", "log", rotated)
	for _, want := range []string{
		"skipped " + filepath.Join(rotated, "audit.log") + ":" + strconv.Itoa(corruptLine) + ": not a JSON audit event",
		"3 repeated across files skipped",
		"UNEXPECTED", "denied", "expected",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// Under `keyward audit`, the log is one check among the others.
	code, both := run("audit", "--audit-log", rotated, "--fail-on", "none", "-o", "json")
	var byCheck map[string]json.RawMessage
	if err := json.Unmarshal([]byte(both), &byCheck); err != nil || code != 0 || byCheck["log"] == nil || byCheck["access"] == nil {
		t.Errorf("keyward audit --audit-log: exit %d, err %v, output:\n%s", code, err, both)
	}

	t.Logf("log: %d bytes, %d lines; %d records; the table:\n%s", len(raw), len(logLines), len(set), table)
}

// sameLogRecords compares what matters of two reports: who, what, how often.
func sameLogRecords(a, b []auditlog.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.User != y.User || x.Secret != y.Secret || x.Target != y.Target || x.Count != y.Count ||
			x.Denied != y.Denied || x.Expected != y.Expected || !x.First.Equal(y.First) || !x.Last.Equal(y.Last) {
			return false
		}
	}
	return true
}
