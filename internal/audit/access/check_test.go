package access

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/keyward/keyward/internal/audit"
)

func TestCheckGradesGrants(t *testing.T) {
	sa := func(ns, name string) Subject {
		return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}
	group := func(name string) Subject { return Subject{Kind: rbacv1.GroupKind, Name: name} }
	user := func(name string) Subject { return Subject{Kind: rbacv1.UserKind, Name: name} }
	for _, tc := range []struct {
		name  string
		g     Grant
		want  audit.Severity
		rule  string
		allow bool
	}{
		{"everyone", Grant{Subject: group("system:authenticated"), Namespace: "a", Secret: "db", Via: []string{"RoleBinding/a/x → Role/a/y → get secrets"}}, audit.Critical, "public", false},
		{"anonymous", Grant{Subject: user("system:anonymous"), Namespace: "a", Secret: "db", Via: []string{"x"}}, audit.Critical, "public", false},
		{"all serviceaccounts", Grant{Subject: group("system:serviceaccounts"), Namespace: "a", Secret: "*", Via: []string{"x"}}, audit.High, "all-serviceaccounts", false},
		{"a namespace's serviceaccounts", Grant{Subject: group("system:serviceaccounts:a"), Namespace: "a", Secret: "*", Via: []string{"x"}}, audit.Medium, "namespace-serviceaccounts", false},
		{"masters", Grant{Subject: group("system:masters"), Namespace: "*", Secret: "*", Via: []string{"group system:masters bypasses authorization"}}, audit.Info, "system-masters", false},
		{"a kubelet", Grant{Subject: user("system:node:n1"), Namespace: "a", Secret: "db", Via: []string{"node authorizer: Pod a/p runs on node n1"}}, audit.None, "", false},
		{"the control plane", Grant{Subject: user("system:kube-controller-manager"), Namespace: "*", Secret: "*", Via: []string{"x"}}, audit.None, "", false},
		{"kube-system ServiceAccount", Grant{Subject: sa("kube-system", "generic-garbage-collector"), Namespace: "*", Secret: "*", Via: []string{"x"}}, audit.None, "", false},
		{"cluster-wide reader", Grant{Subject: sa("tools", "backup"), Namespace: "*", Secret: "*", Via: []string{"ClusterRoleBinding/b → ClusterRole/c → list secrets"}}, audit.High, "cluster-wide", false},
		{"cluster-wide reader, allowed", Grant{Subject: sa("tools", "backup"), Namespace: "*", Secret: "*", Via: []string{"x"}}, audit.None, "", true},
		{"indirect in a namespace", Grant{Subject: sa("a", "ci"), Namespace: "a", Secret: "*", Via: []string{"RoleBinding/a/ci → Role/a/ci → create pods mounting the Secret"}}, audit.Medium, "indirect", false},
		{"indirect everywhere", Grant{Subject: sa("a", "ci"), Namespace: "*", Secret: "*", Via: []string{"ClusterRoleBinding/ci → ClusterRole/ci → create pods mounting the Secret"}}, audit.High, "cluster-wide-indirect", false},
		{"direct and indirect: graded as direct", Grant{Subject: sa("a", "ops"), Namespace: "a", Secret: "*", Via: []string{"RoleBinding/a/ops → Role/a/ops → get secrets", "RoleBinding/a/ops → Role/a/ops → create pods mounting the Secret"}}, audit.Low, "namespace-wide", false},
		{"one named Secret", Grant{Subject: sa("a", "app"), Namespace: "a", Secret: "db", Via: []string{"RoleBinding/a/app → Role/a/app → get secrets [db]"}}, audit.None, "", false},
		{"token for a reader", Grant{Subject: sa("a", "t"), Namespace: "a", Secret: "db", Via: []string{"RoleBinding/a/t → Role/a/t → create serviceaccounts/token as ServiceAccount/a/app → RoleBinding/a/app → Role/a/app → get secrets"}}, audit.Medium, "indirect", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.g.Verbs = []string{"get"}
			o := CheckOptions{}
			if tc.allow {
				o.Allowed = []Subject{tc.g.Subject}
			}
			res := Check(&Report{Grants: []Grant{tc.g}}, o)
			recs := res.Records.([]Record)
			if len(recs) != 1 || recs[0].Severity != tc.want {
				t.Fatalf("severity %v, want %v", recs[0].Severity, tc.want)
			}
			if tc.want == audit.None {
				if len(res.Findings) != 0 {
					t.Fatalf("not a finding, got %+v", res.Findings)
				}
				return
			}
			if len(res.Findings) != 1 || res.Findings[0].Rule != tc.rule {
				t.Fatalf("findings %+v, want rule %s", res.Findings, tc.rule)
			}
		})
	}
}

func TestCheckFilters(t *testing.T) {
	alice := Subject{Kind: rbacv1.UserKind, Name: "alice"}
	r := &Report{Grants: []Grant{
		{Subject: alice, Namespace: "a", Secret: "db", Verbs: []string{"get"}, Via: []string{"x"}},
		{Subject: alice, Namespace: "b", Secret: "db", Verbs: []string{"get"}, Via: []string{"x"}},
		{Subject: Subject{Kind: rbacv1.GroupKind, Name: "system:authenticated"}, Namespace: "*", Secret: "x", Verbs: []string{"get"}, Via: []string{"y"}},
		{Subject: Subject{Kind: rbacv1.UserKind, Name: "bob"}, Namespace: "a", Secret: "*", Verbs: []string{"list"}, Via: []string{"z"}},
	}}
	recs := Check(r, CheckOptions{Namespace: "a"}).Records.([]Record)
	if len(recs) != 3 {
		t.Errorf("-n a: %d records, want a/db, the cluster-wide grant and bob", len(recs))
	}
	recs = Check(r, CheckOptions{Subject: &alice}).Records.([]Record)
	if len(recs) != 3 {
		t.Errorf("--subject alice: %d records, want her two and her group's one: %+v", len(recs), recs)
	}
}

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Subject
		bad  bool
	}{
		{in: "User/alice", want: Subject{Kind: "User", Name: "alice"}},
		{in: "user:alice@example.com", want: Subject{Kind: "User", Name: "alice@example.com"}},
		{in: "Group/system:masters", want: Subject{Kind: "Group", Name: "system:masters"}},
		{in: "ServiceAccount/team-a/deployer", want: Subject{Kind: "ServiceAccount", Namespace: "team-a", Name: "deployer"}},
		{in: "sa:team-a:deployer", want: Subject{Kind: "ServiceAccount", Namespace: "team-a", Name: "deployer"}},
		{in: "system:serviceaccount:team-a:deployer", want: Subject{Kind: "ServiceAccount", Namespace: "team-a", Name: "deployer"}},
		{in: "ServiceAccount/deployer", bad: true},
		{in: "Robot/x", bad: true},
		{in: "alice", bad: true},
		{in: "system:serviceaccount:team-a", bad: true},
	} {
		got, err := ParseSubject(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted as %+v", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}
