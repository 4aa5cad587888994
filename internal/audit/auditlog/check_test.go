package auditlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/access"
)

func impersonating(user string, groups ...string) func(map[string]any) {
	return func(m map[string]any) {
		m["impersonatedUser"] = map[string]any{"username": user, "groups": groups}
	}
}

func groups(g ...string) func(map[string]any) {
	return func(m map[string]any) { m["user"].(map[string]any)["groups"] = g }
}

func level(l string) func(map[string]any) { return func(m map[string]any) { m["level"] = l } }

func sub(resource, subresource string) func(map[string]any) {
	return func(m map[string]any) {
		o := m["objectRef"].(map[string]any)
		o["resource"], o["subresource"] = resource, subresource
	}
}

// testAccess: ServiceAccount app/reader may get Secret db; Group team may get
// every Secret of app; User lister may list app's Secrets.
func testAccess(t *testing.T) *access.Report {
	t.Helper()
	role := func(name string, verbs []string, names ...string) rbacv1.Role {
		return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs, ResourceNames: names}}}
	}
	bind := func(name, roleName string, s rbacv1.Subject) rbacv1.RoleBinding {
		return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleName}, Subjects: []rbacv1.Subject{s}}
	}
	rep, err := access.Analyze(access.Input{
		Roles: []rbacv1.Role{role("get-db", []string{"get"}, "db"), role("all", []string{"get", "list", "watch"}), role("list", []string{"list"})},
		RoleBindings: []rbacv1.RoleBinding{
			bind("reader", "get-db", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "reader", Namespace: "app"}),
			bind("team", "all", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "team"}),
			bind("lister", "list", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "lister"}),
		},
		Secrets: map[string][]string{"app": {"db", "api"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestResult(t *testing.T) {
	const sa = "system:serviceaccount:app:reader"
	type want struct {
		user, object, status string
		impersonator         string
		sev                  audit.Severity
	}
	tests := []struct {
		name      string
		lines     []string
		noAccess  bool
		namespace string
		want      []want
		rules     []string // rules of the findings, in order
		note      string
	}{
		{
			name:  "reader with a Role is expected",
			lines: []string{ev("1", StageResponseComplete, "get", sa, "app", "db", 200)},
			want:  []want{{user: sa, object: "secret/db", status: "expected"}},
		},
		{
			name: "a verb or a Secret outside the grant is unexpected",
			lines: []string{
				ev("1", StageResponseComplete, "get", sa, "app", "api", 200),
				ev("2", StageResponseComplete, "get", sa, "app", "db", 200),
				ev("3", StageResponseComplete, "watch", sa, "app", "db", 200),
			},
			want: []want{
				{user: sa, object: "secret/api", status: "UNEXPECTED", sev: audit.High},
				{user: sa, object: "secret/db", status: "UNEXPECTED", sev: audit.High},
			},
			rules: []string{RuleUnexpectedReader, RuleUnexpectedReader},
		},
		{
			name: "forbidden attempt is its own record",
			lines: []string{
				ev("1", StageResponseComplete, "get", "mallory", "app", "db", 403),
				ev("2", StageResponseComplete, "get", "mallory", "app", "db", 403),
				ev("3", StageResponseComplete, "get", sa, "app", "db", 200),
				ev("4", StageResponseComplete, "get", sa, "app", "db", 403),
			},
			want: []want{
				{user: "mallory", object: "secret/db", status: "denied", sev: audit.Medium},
				{user: sa, object: "secret/db", status: "expected"},
				{user: sa, object: "secret/db", status: "denied", sev: audit.Medium},
			},
			rules: []string{RuleDeniedAttempt, RuleDeniedAttempt},
		},
		{
			name: "groups the event records count",
			lines: []string{
				ev("1", StageResponseComplete, "list", "oidc:ann", "app", "", 200, groups("team", "system:authenticated")),
				ev("2", StageResponseComplete, "list", "oidc:bob", "app", "", 200),
			},
			want: []want{
				{user: "oidc:ann", object: "secret/*", status: "expected"},
				{user: "oidc:bob", object: "secret/*", status: "UNEXPECTED", sev: audit.High},
			},
			rules: []string{RuleUnexpectedReader},
		},
		{
			name: "impersonated requests count as the impersonated user",
			lines: []string{
				ev("1", StageResponseComplete, "get", "admin", "app", "api", 200, groups("system:masters"), impersonating("ann", "team")),
				ev("2", StageResponseComplete, "get", "admin", "app", "api", 200, groups("system:masters"), impersonating("eve")),
			},
			want: []want{
				{user: "ann", impersonator: "admin", object: "secret/api", status: "expected"},
				{user: "eve", impersonator: "admin", object: "secret/api", status: "UNEXPECTED", sev: audit.High},
			},
			rules: []string{RuleUnexpectedReader},
		},
		{
			name: "list of one namespace is covered by a list grant, not by a named get",
			lines: []string{
				ev("1", StageResponseComplete, "list", "lister", "app", "", 200),
				ev("2", StageResponseComplete, "list", sa, "app", "", 200),
				ev("3", StageResponseComplete, "list", "lister", "", "", 200),
			},
			want: []want{
				{user: "lister", object: "secret/*", status: "UNEXPECTED", sev: audit.High}, // cluster-wide list
				{user: "lister", object: "secret/*", status: "expected"},
				{user: sa, object: "secret/*", status: "UNEXPECTED", sev: audit.High},
			},
			rules: []string{RuleUnexpectedReader, RuleUnexpectedReader},
		},
		{
			name: "system:masters reads everything; system components listed last",
			lines: []string{
				ev("1", StageResponseComplete, "get", "system:kube-controller-manager", "app", "db", 200, groups("system:masters")),
				ev("2", StageResponseComplete, "get", "system:serviceaccount:kube-system:generic", "app", "db", 404),
				ev("3", StageResponseComplete, "get", "admin", "app", "db", 200, groups("system:masters")),
			},
			want: []want{
				{user: "admin", object: "secret/db", status: "expected"},
				{user: "system:kube-controller-manager", object: "secret/db", status: "expected"},
				{user: "system:serviceaccount:kube-system:generic", object: "secret/db", status: "failed"},
			},
			note: "2 records from control-plane components",
		},
		{
			name: "writes and indirect paths are listed, not judged",
			lines: []string{
				ev("1", StageResponseComplete, "create", "dev", "app", "pod-1", 200, sub("pods", "exec")),
				ev("2", StageResponseComplete, "create", "dev", "app", "reader", 201, sub("serviceaccounts", "token")),
				ev("3", StageResponseComplete, "update", "dev", "app", "db", 200),
				ev("4", StageResponseComplete, "get", "dev", "app", "web", 200, sub("pods", "")),
				ev("5", StageResponseComplete, "create", "dev", "app", "pod-1", 403, sub("pods", "attach")),
			},
			want: []want{
				{user: "dev", object: "pods/attach:pod-1", status: "denied", sev: audit.Medium},
				{user: "dev", object: "pods/exec:pod-1", status: "indirect", sev: audit.Info},
				{user: "dev", object: "secret/db", status: "write"},
				{user: "dev", object: "serviceaccounts/token:reader", status: "indirect", sev: audit.Info},
			},
			rules: []string{RuleDeniedAttempt},
		},
		{
			name:     "without the cluster readers are listed, not compared",
			lines:    []string{ev("1", StageResponseComplete, "get", "eve", "app", "db", 200)},
			noAccess: true,
			want:     []want{{user: "eve", object: "secret/db", status: "not compared"}},
			note:     "readers were not compared with who may read each Secret: cluster down",
		},
		{
			name: "a log with bodies is a finding",
			lines: []string{
				ev("1", StageResponseComplete, "get", sa, "app", "db", 200, level("RequestResponse")),
				"{broken",
			},
			want:  []want{{user: sa, object: "secret/db", status: "expected"}},
			rules: []string{RuleCorruptLine, RuleBodiesLogged},
		},
		{
			name: "namespace filter keeps cluster-wide requests",
			lines: []string{
				ev("1", StageResponseComplete, "get", sa, "app", "db", 200),
				ev("2", StageResponseComplete, "get", sa, "other", "db", 200),
				ev("3", StageResponseComplete, "list", "admin", "", "", 200, groups("system:masters")),
			},
			namespace: "app",
			want: []want{
				{user: "admin", object: "secret/*", status: "expected"},
				{user: sa, object: "secret/db", status: "expected"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(p, []byte(lines(tt.lines...)), 0o600); err != nil {
				t.Fatal(err)
			}
			rd, ag := NewReader(), NewAggregator()
			if err := rd.ReadFiles([]string{p}, ag.Add); err != nil {
				t.Fatal(err)
			}
			o := Options{Access: testAccess(t), Namespace: tt.namespace}
			if tt.noAccess {
				o = Options{NotCompared: "cluster down"}
			}
			res := Result(rd, ag, o)
			recs := res.Records.([]Record)
			if len(recs) != len(tt.want) {
				t.Fatalf("got %d records, want %d:\n%v", len(recs), len(tt.want), res.Rows)
			}
			for i, w := range tt.want {
				r := recs[i]
				if r.User != w.user || r.object() != w.object || r.status() != w.status || r.Impersonator != w.impersonator || r.Severity != w.sev {
					t.Errorf("record %d = %v (severity %s), want %+v", i, res.Rows[i], r.Severity, w)
				}
			}
			var rules []string
			for _, f := range res.Findings {
				rules = append(rules, f.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(tt.rules, ",") {
				t.Errorf("finding rules = %v, want %v", rules, tt.rules)
			}
			if tt.note != "" && !strings.Contains(strings.Join(res.Notes, "\n"), tt.note) {
				t.Errorf("notes %q lack %q", res.Notes, tt.note)
			}
		})
	}
}

func TestRecordJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.log")
	content := lines(ev("1", StageResponseComplete, "get", "admin", "app", "api", 200, groups("system:masters"), impersonating("system:serviceaccount:app:reader", "system:serviceaccounts")))
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	rd, ag := NewReader(), NewAggregator()
	if err := rd.ReadFiles([]string{p}, ag.Add); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Result(rd, ag, Options{Access: testAccess(t)}).Records)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"user":"system:serviceaccount:app:reader"`, `"impersonator":"admin"`,
		`"subject":{"kind":"ServiceAccount","name":"reader","namespace":"app"}`, `"secret":"api"`,
		`"verbs":["get"]`, `"codes":[200]`, `"count":1`, `"expected":false`, `"compared":true`, `"severity":"high"`, `"first":"2026-12-03T10:00:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
}

func TestPolicy(t *testing.T) {
	var pol struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		OmitStages []string `json:"omitStages"`
		Rules      []struct {
			Level     string `json:"level"`
			Resources []struct {
				Group     string   `json:"group"`
				Resources []string `json:"resources"`
			} `json:"resources"`
		} `json:"rules"`
	}
	if err := yaml.UnmarshalStrict([]byte(Policy()), &pol); err != nil {
		t.Fatal(err)
	}
	if pol.APIVersion != "audit.k8s.io/v1" || pol.Kind != "Policy" || strings.Join(pol.OmitStages, ",") != "RequestReceived" {
		t.Errorf("policy header = %+v", pol)
	}
	if len(pol.Rules) != 2 || pol.Rules[0].Level != "Metadata" || pol.Rules[1].Level != "None" || len(pol.Rules[1].Resources) != 0 {
		t.Fatalf("rules = %+v, want Metadata for Secrets then None for the rest", pol.Rules)
	}
	got := pol.Rules[0].Resources
	if len(got) != 1 || got[0].Group != "" ||
		strings.Join(got[0].Resources, ",") != "secrets,pods/exec,pods/attach,serviceaccounts/token" {
		t.Errorf("Metadata rule covers %+v", got)
	}
}
