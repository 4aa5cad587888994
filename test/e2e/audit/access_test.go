package audit

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/keyward/keyward/internal/audit/access"
	"github.com/keyward/keyward/test/proc"
)

const plantedDB = "pl4nted-db-password-7c1e"

// grantRec is one record of `keyward audit access -o json`.
type grantRec struct {
	Subject   access.Subject `json:"subject"`
	Namespace string         `json:"namespace"`
	Secret    string         `json:"secret"`
	Verbs     []string       `json:"verbs"`
	Via       []string       `json:"via"`
	Severity  string         `json:"severity"`
}

// TestAccessOnRealCluster plants every path to a Secret the issue names, each
// beside a near miss, and asks the command line who can read namespace
// aud-a's Secrets.
func TestAccessOnRealCluster(t *testing.T) {
	ctx := background(t)
	c := plainCluster(t)
	cs := c.Clientset
	plantAccessCases(t, cs)

	r := keyward(t, "audit", "access", "--kubeconfig", c.Kubeconfig, "-n", "aud-a", "-o", "json", "--fail-on", "none")
	if r.code != 0 {
		t.Fatalf("audit access: exit %d\n%s", r.code, r.stderr)
	}
	noLeak(t, r, plantedDB)
	var recs []grantRec
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatalf("audit access -o json is not a JSON list of grants: %v\n%s", err, r.stdout)
	}
	find := func(kind, ns, name, secretNS, secret string) *grantRec {
		for i := range recs {
			g := &recs[i]
			if g.Subject.Kind == kind && g.Subject.Name == name && g.Subject.Namespace == ns && g.Namespace == secretNS && g.Secret == secret {
				return g
			}
		}
		return nil
	}
	sa := rbacv1.ServiceAccountKind
	for _, tc := range []struct {
		path             string
		kind, ns, name   string
		secretNS, secret string
		via              string // a part of one chain
		found            bool
	}{
		{"direct by name", sa, "aud-a", "direct", "aud-a", "db", "Role/aud-a/read-db", true},
		{"near: configmaps only", sa, "aud-a", "direct-cm", "aud-a", "*", "", false},
		{"near: configmaps only (named)", sa, "aud-a", "direct-cm", "aud-a", "db", "", false},
		{"wildcard resources", sa, "aud-a", "wild", "aud-a", "*", "RoleBinding/aud-a/wild", true},
		{"near: write verbs only", sa, "aud-a", "wild-write", "aud-a", "*", "", false},
		{"aggregated ClusterRole", sa, "aud-a", "agg", "aud-a", "*", "aud-agg-child", true},
		{"near: aggregation selects nothing that reads", sa, "aud-a", "agg-miss", "aud-a", "*", "", false},
		{"create pods", sa, "aud-a", "podmaker", "aud-a", "*", "create pods", true},
		{"near: create pods in another namespace", sa, "aud-b", "podmaker-b", "aud-a", "*", "", false},
		{"create deployments", sa, "aud-a", "deployer", "aud-a", "*", "create deployments", true},
		{"near: read deployments", sa, "aud-a", "viewer", "aud-a", "*", "", false},
		{"exec into a Pod mounting it", sa, "aud-a", "execer", "aud-a", "db", "pods/exec into Pod aud-a/app", true},
		{"near: exec into a Pod mounting another", sa, "aud-a", "execer-other", "aud-a", "db", "", false},
		{"exec into a Pod mounting another reads that one", sa, "aud-a", "execer-other", "aud-a", "other", "pods/exec into Pod aud-a/app2", true},
		{"impersonate a reader", sa, "aud-a", "imp", "aud-a", "db", "impersonate serviceaccounts", true},
		{"near: impersonate a non-reader", sa, "aud-a", "imp-miss", "aud-a", "db", "", false},
		{"bind any role", sa, "aud-a", "binder", "aud-a", "*", "bind a role granting read on secrets", true},
		{"near: bind only a role without reads", sa, "aud-a", "binder-miss", "aud-a", "*", "", false},
		{"escalate roles", sa, "aud-a", "escalator", "aud-a", "*", "escalate a role granting read on secrets", true},
		{"token for a reader", sa, "aud-a", "tokener", "aud-a", "db", "create serviceaccounts/token", true},
		{"near: token for a non-reader", sa, "aud-a", "tokener-miss", "aud-a", "db", "", false},
		{"node running a Pod that mounts it", rbacv1.UserKind, "", "system:node:node-1", "aud-a", "db", "node authorizer", true},
		{"near: node running a Pod of another namespace", rbacv1.UserKind, "", "system:node:node-2", "aud-a", "db", "", false},
		{"system:masters", rbacv1.GroupKind, "", "system:masters", "*", "*", "system:masters", true},
		{"cluster-wide reader", sa, "aud-c", "cluster-reader", "*", "*", "ClusterRoleBinding/aud-cluster-reader", true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			g := find(tc.kind, tc.ns, tc.name, tc.secretNS, tc.secret)
			if !tc.found {
				if g != nil {
					t.Fatalf("%s/%s/%s reported as reading %s/%s: %v", tc.kind, tc.ns, tc.name, tc.secretNS, tc.secret, g.Via)
				}
				return
			}
			if g == nil {
				t.Fatalf("%s/%s/%s not reported as reading %s/%s", tc.kind, tc.ns, tc.name, tc.secretNS, tc.secret)
			}
			if !strings.Contains(strings.Join(g.Via, "\n"), tc.via) {
				t.Errorf("via %q does not name %q", g.Via, tc.via)
			}
			if len(g.Verbs) == 0 {
				t.Errorf("no verbs")
			}
		})
	}
	// Nothing outside aud-a, other than cluster-wide grants, is listed under -n.
	for _, g := range recs {
		if g.Namespace != "aud-a" && g.Namespace != "*" {
			t.Errorf("-n aud-a listed a grant on namespace %s", g.Namespace)
		}
	}

	t.Run("subject", func(t *testing.T) {
		r := keyward(t, "audit", "access", "--kubeconfig", c.Kubeconfig, "--subject", "ServiceAccount/aud-a/tokener", "-o", "json", "--fail-on", "none")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var mine []grantRec
		if err := json.Unmarshal([]byte(r.stdout), &mine); err != nil {
			t.Fatal(err)
		}
		if len(mine) != 1 || mine[0].Namespace != "aud-a" || mine[0].Secret != "db" || mine[0].Subject.Name != "tokener" {
			t.Fatalf("--subject tokener: want exactly aud-a/db, got %+v", mine)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
		}{
			// The cluster-wide reader is a high finding.
			{[]string{"-n", "aud-a"}, 1},
			{[]string{"-n", "aud-a", "--fail-on", "critical"}, 0},
			{[]string{"-n", "aud-a", "--allow", "ServiceAccount/aud-c/cluster-reader"}, 0},
			{[]string{"-n", "aud-a", "--allow", "ServiceAccount/aud-c/cluster-reader", "--fail-on", "medium"}, 1},
			{[]string{"--fail-on", "bogus"}, 2},
			{[]string{"--subject", "Robot/x"}, 2},
		} {
			r := keyward(t, append([]string{"audit", "access", "--kubeconfig", c.Kubeconfig}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("audit access %v: exit %d, want %d\n%s", tc.args, r.code, tc.code, r.stderr)
			}
			noLeak(t, r, plantedDB)
		}
	})

	t.Run("table and sarif", func(t *testing.T) {
		r := keyward(t, "audit", "access", "--kubeconfig", c.Kubeconfig, "-n", "aud-a", "--fail-on", "none")
		if !strings.Contains(r.stdout, "SUBJECT") || !strings.Contains(r.stdout, "ServiceAccount/aud-a/tokener") {
			t.Errorf("table lacks its header or a reader:\n%s", r.stdout)
		}
		r = keyward(t, "audit", "access", "--kubeconfig", c.Kubeconfig, "-n", "aud-a", "-o", "sarif", "--fail-on", "none")
		var log struct {
			Version string `json:"version"`
			Runs    []struct {
				Results []struct {
					RuleID string `json:"ruleId"`
					Level  string `json:"level"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
			t.Fatalf("not SARIF 2.1.0 (%v):\n%s", err, r.stdout)
		}
		levels := map[string]string{}
		for _, res := range log.Runs[0].Results {
			levels[res.RuleID] = res.Level
		}
		if levels["access/cluster-wide"] != "error" || levels["access/indirect"] != "warning" {
			t.Errorf("SARIF rules and levels: %v", levels)
		}
		noLeak(t, r, plantedDB)
	})

	t.Run("one check fails, the others report", func(t *testing.T) {
		dead := "http://" + proc.FreeAddr(t)
		r := keyward(t, "audit", "--kubeconfig", c.Kubeconfig, "-n", "aud-a", "--etcd-endpoint", dead, "-o", "json")
		if r.code != 2 || !strings.Contains(r.stderr, dead) {
			t.Fatalf("exit %d, want 2 naming the etcd endpoint: %s", r.code, r.stderr)
		}
		var rep struct {
			Access   []grantRec        `json:"access"`
			Exposure []json.RawMessage `json:"exposure"`
			Errors   []struct {
				Check, Error string
			} `json:"errors"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("keyward audit -o json: %v\n%s", err, r.stdout)
		}
		if len(rep.Access) == 0 || rep.Exposure == nil {
			t.Errorf("the checks that could run did not report: %s", r.stdout)
		}
		if len(rep.Errors) != 1 || rep.Errors[0].Check != "encryption" || !strings.Contains(rep.Errors[0].Error, dead) {
			t.Errorf("errors %+v, want the encryption check naming %s", rep.Errors, dead)
		}
		noLeak(t, r, plantedDB)
	})

	t.Run("kubeconfig without rights", func(t *testing.T) {
		cfg, err := c.ServiceAccountConfig(ctx, "aud-b", "nobody")
		if err != nil {
			t.Fatal(err)
		}
		r := keyward(t, "audit", "access", "--kubeconfig", writeKubeconfig(t, cfg))
		if r.code != 2 || !strings.Contains(r.stderr, "forbidden") || !strings.Contains(r.stderr, "clusterroles") {
			t.Fatalf("exit %d, want 2 with a forbidden list named: %s", r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("a failed check printed a result: %s", r.stdout)
		}
	})
}

// plantAccessCases creates, in aud-a, aud-b and aud-c, one subject per path
// and one per near miss.
func plantAccessCases(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := background(t)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"aud-a", "aud-b", "aud-c"} {
		must(cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
		must(cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}))
	}
	secret := func(ns, name, value string) {
		must(cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			StringData: map[string]string{"password": value}}, metav1.CreateOptions{}))
	}
	secret("aud-a", "db", plantedDB)
	secret("aud-a", "other", "other-value-0000")
	secret("aud-b", "b-db", "b-value-00000000")

	role := func(ns, name string, rules ...rbacv1.PolicyRule) {
		must(cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}, metav1.CreateOptions{}))
	}
	bindTo := func(ns, name, kind, roleName string) {
		must(cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must(cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: roleName},
		}, metav1.CreateOptions{}))
	}
	rule := func(group, resource string, verbs []string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs, ResourceNames: names}
	}
	get := []string{"get"}
	create := []string{"create"}

	role("aud-a", "read-db", rule("", "secrets", get, "db"))
	bindTo("aud-a", "direct", "Role", "read-db")
	role("aud-a", "cm-reader", rule("", "configmaps", []string{"get", "list"}))
	bindTo("aud-a", "direct-cm", "Role", "cm-reader")

	role("aud-a", "wild", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"*"}, Verbs: get})
	bindTo("aud-a", "wild", "Role", "wild")
	role("aud-a", "wild-write", rule("", "secrets", []string{"create", "update"}))
	bindTo("aud-a", "wild-write", "Role", "wild-write")

	cr := func(name string, labels map[string]string, agg *rbacv1.AggregationRule, rules ...rbacv1.PolicyRule) {
		must(cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, AggregationRule: agg, Rules: rules,
		}, metav1.CreateOptions{}))
	}
	cr("aud-agg-child", map[string]string{"aud/agg": "true"}, nil, rule("", "secrets", []string{"list"}))
	cr("aud-agg", nil, &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"aud/agg": "true"}}}})
	bindTo("aud-a", "agg", "ClusterRole", "aud-agg")
	cr("aud-agg-cm", map[string]string{"aud/agg-miss": "true"}, nil, rule("", "configmaps", get))
	cr("aud-agg-miss", nil, &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"aud/agg-miss": "true"}}}})
	bindTo("aud-a", "agg-miss", "ClusterRole", "aud-agg-miss")

	role("aud-a", "podmaker", rule("", "pods", create))
	bindTo("aud-a", "podmaker", "Role", "podmaker")
	role("aud-b", "podmaker", rule("", "pods", create))
	bindTo("aud-b", "podmaker-b", "Role", "podmaker")

	role("aud-a", "deployer", rule("apps", "deployments", create))
	bindTo("aud-a", "deployer", "Role", "deployer")
	role("aud-a", "viewer", rule("apps", "deployments", []string{"get", "list", "watch"}))
	bindTo("aud-a", "viewer", "Role", "viewer")

	pod := func(ns, name, node, secretName string) {
		must(cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{
				NodeName:                     node,
				AutomountServiceAccountToken: new(bool),
				Containers:                   []corev1.Container{{Name: "app", Image: "app:1"}},
				Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{
					Secret: &corev1.SecretVolumeSource{SecretName: secretName}}}},
			},
		}, metav1.CreateOptions{}))
	}
	pod("aud-a", "app", "node-1", "db")
	pod("aud-a", "app2", "", "other")
	pod("aud-b", "b-app", "node-2", "b-db")
	role("aud-a", "execer", rule("", "pods/exec", create, "app"))
	bindTo("aud-a", "execer", "Role", "execer")
	role("aud-a", "execer-other", rule("", "pods/exec", create, "app2"))
	bindTo("aud-a", "execer-other", "Role", "execer-other")

	role("aud-a", "imp", rule("", "serviceaccounts", []string{"impersonate"}, "direct"))
	bindTo("aud-a", "imp", "Role", "imp")
	role("aud-a", "imp-miss", rule("", "serviceaccounts", []string{"impersonate"}, "direct-cm"))
	bindTo("aud-a", "imp-miss", "Role", "imp-miss")

	role("aud-a", "binder", rule(rbacv1.GroupName, "roles", []string{"bind"}))
	bindTo("aud-a", "binder", "Role", "binder")
	role("aud-a", "binder-miss", rule(rbacv1.GroupName, "roles", []string{"bind"}, "cm-reader"))
	bindTo("aud-a", "binder-miss", "Role", "binder-miss")
	role("aud-a", "escalator", rule(rbacv1.GroupName, "roles", []string{"escalate"}))
	bindTo("aud-a", "escalator", "Role", "escalator")

	role("aud-a", "tokener", rule("", "serviceaccounts/token", create, "direct"))
	bindTo("aud-a", "tokener", "Role", "tokener")
	role("aud-a", "tokener-miss", rule("", "serviceaccounts/token", create, "direct-cm"))
	bindTo("aud-a", "tokener-miss", "Role", "tokener-miss")

	cr("aud-cluster-reader", nil, nil, rule("", "secrets", []string{"get", "list", "watch"}))
	must(cs.CoreV1().ServiceAccounts("aud-c").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "cluster-reader"}}, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "aud-cluster-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "cluster-reader", Namespace: "aud-c"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "aud-cluster-reader"},
	}, metav1.CreateOptions{}))
}
