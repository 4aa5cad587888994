package access

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rule(verbs, groups, resources string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		Verbs:         strings.Split(verbs, ","),
		APIGroups:     strings.Split(groups, ","),
		Resources:     strings.Split(resources, ","),
		ResourceNames: names,
	}
}

func clusterRole(name string, lbl map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbl}, Rules: rules}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func rbSubjects(subs []Subject) []rbacv1.Subject {
	out := make([]rbacv1.Subject, len(subs))
	for i, s := range subs {
		out[i] = rbacv1.Subject{Kind: s.Kind, Name: s.Name, Namespace: s.Namespace}
	}
	return out
}

func roleBinding(ns, name, kind, roleName string, subs ...Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacGroup, Kind: kind, Name: roleName},
		Subjects:   rbSubjects(subs),
	}
}

func clusterBinding(name, roleName string, subs ...Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: roleName},
		Subjects:   rbSubjects(subs),
	}
}

func user(n string) Subject  { return Subject{Kind: rbacv1.UserKind, Name: n} }
func group(n string) Subject { return Subject{Kind: rbacv1.GroupKind, Name: n} }
func sa(ns, n string) Subject {
	return Subject{Kind: rbacv1.ServiceAccountKind, Name: n, Namespace: ns}
}
func account(ns, n string) corev1.ServiceAccount {
	return corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}}
}

// podWithVolume mounts secret as a volume.
func podWithVolume(ns, name, node, secret string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeName: node,
			Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: secret}}}},
		},
	}
}

func podWithEnv(ns, name, node, secret string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "k"}}}}}},
		},
	}
}

func podWithProjected(ns, name, secret string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
				Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}}}}}}},
	}
}

func podWithEnvFrom(ns, name, secret string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", EnvFrom: []corev1.EnvFromSource{{
			SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}}}}},
	}
}

// secrets is the inventory every case shares: two Secrets in a and b.
var secretsAB = map[string][]string{"a": {"s1", "s2"}, "b": {"s1", "s2"}}

// can reports whether any grant reaches ns/secret, wildcards included.
func can(gs []Grant, ns, secret string) bool {
	for _, g := range gs {
		if (g.Namespace == ns || g.Namespace == All) && (g.Secret == secret || g.Secret == All) {
			return true
		}
	}
	return false
}

// found reports whether a grant for exactly ns/secret has a chain holding via.
func found(gs []Grant, ns, secret, via string) bool {
	for _, g := range gs {
		if g.Namespace != ns || g.Secret != secret {
			continue
		}
		for _, v := range g.Via {
			if strings.Contains(v, via) {
				return true
			}
		}
	}
	return false
}

type want struct{ ns, secret, via string }
type miss struct{ ns, secret string }

func TestPaths(t *testing.T) {
	alice, reader := user("alice"), sa("a", "reader")
	readSecrets := rule("get,list,watch", "", "secrets")
	tests := []struct {
		name string
		in   Input
		who  Subject
		want []want
		not  []miss
	}{
		{
			name: "rolebinding to a clusterrole grants only in its namespace",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("read", nil, readSecrets)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "ClusterRole", "read", alice)},
			},
			who:  alice,
			want: []want{{"a", All, "RoleBinding/a/rb → ClusterRole/read rule[0]"}},
			not:  []miss{{"b", "s1"}},
		},
		{
			name: "wildcards in verbs, groups and resources",
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("admin", nil, rule("*", "*", "*"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "admin", alice)},
			},
			who:  alice,
			want: []want{{All, All, "ClusterRoleBinding/crb → ClusterRole/admin"}},
		},
		{
			name: "resourceNames limit get to the named Secret",
			in: Input{
				Roles:        []rbacv1.Role{role("a", "one", rule("get", "", "secrets", "s1"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "one", alice)},
			},
			who:  alice,
			want: []want{{"a", "s1", "Role/a/one"}},
			not:  []miss{{"a", "s2"}},
		},
		{
			name: "verbs that return no value and the wrong api group are no read",
			in: Input{
				Roles: []rbacv1.Role{role("a", "w", rule("create,delete", "", "secrets"),
					rule("get", "apps", "secrets"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "w", alice)},
			},
			who: alice,
			not: []miss{{"a", "s1"}},
		},
		{
			name: "aggregated clusterrole resolved from labels, rules left empty",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{
					{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{
						ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"to-agg": "true"}}}}},
					clusterRole("part", map[string]string{"to-agg": "true"}, readSecrets),
				},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "agg", alice)},
			},
			who:  alice,
			want: []want{{All, All, "ClusterRoleBinding/crb → ClusterRole/part rule[0]"}},
		},
		{
			name: "aggregation selector that matches no reading role",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{
					{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{
						ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"to-agg": "true"}}}}},
					clusterRole("part", map[string]string{"to-agg": "false"}, readSecrets),
				},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "agg", alice)},
			},
			who: alice,
			not: []miss{{"a", "s1"}},
		},
		{
			name: "create pods in the namespace mounts any Secret",
			in: Input{
				Roles:        []rbacv1.Role{role("a", "p", rule("create", "", "pods"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "p", alice)},
			},
			who:  alice,
			want: []want{{"a", All, "create pods mounting the Secret"}},
			not:  []miss{{"b", "s1"}},
		},
		{
			name: "create pods in another namespace",
			in: Input{
				Roles:        []rbacv1.Role{role("b", "p", rule("create", "", "pods"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("b", "rb", "Role", "p", alice)},
			},
			who: alice,
			not: []miss{{"a", "s1"}},
		},
		{
			name: "create workloads: deployments and cronjobs",
			in: Input{
				Roles: []rbacv1.Role{role("a", "w", rule("create", "apps", "deployments"),
					rule("create", "batch", "cronjobs"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "w", alice)},
			},
			who: alice,
			want: []want{
				{"a", All, "rule[0] create deployments → create deployments"},
				{"a", All, "rule[1] create cronjobs → create cronjobs"},
			},
		},
		{
			name: "create workloads in the wrong group or with resourceNames",
			in: Input{
				Roles: []rbacv1.Role{role("a", "w", rule("create", "", "deployments"),
					rule("create", "", "pods", "p1"), rule("update", "apps", "deployments"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "w", alice)},
			},
			who: alice,
			not: []miss{{"a", "s1"}},
		},
		{
			name: "exec and attach into Pods that mount the Secret",
			in: Input{
				Roles: []rbacv1.Role{role("a", "x", rule("create", "", "pods/exec")),
					role("b", "x", rule("get", "", "pods/*"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "x", alice),
					roleBinding("b", "rb", "Role", "x", alice)},
				Pods: []corev1.Pod{podWithVolume("a", "p", "", "s1"), podWithProjected("b", "q", "s2"),
					podWithEnvFrom("b", "r", "s1")},
				Secrets: secretsAB,
			},
			who: alice,
			want: []want{
				{"a", "s1", "pods/exec into Pod a/p that mounts it"},
				{"b", "s2", "pods/attach into Pod b/q that mounts it"},
				{"b", "s1", "pods/exec into Pod b/r that mounts it"},
			},
			not: []miss{{"a", "s2"}},
		},
		{
			name: "exec where no Pod mounts it, into another Pod, or a missing Secret",
			in: Input{
				Roles: []rbacv1.Role{role("a", "x", rule("create", "", "pods/exec", "other")),
					role("b", "x", rule("create", "", "pods/exec"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "x", alice),
					roleBinding("b", "rb", "Role", "x", alice)},
				Pods: []corev1.Pod{podWithVolume("a", "p", "", "s1"), podWithVolume("b", "q", "", "gone"),
					podWithVolume("c", "r", "", "s1")},
				Secrets: secretsAB,
			},
			who: alice,
			not: []miss{{"a", "s1"}, {"b", "gone"}, {"b", "s1"}, {"c", "s1"}},
		},
		{
			name: "impersonate a ServiceAccount that reads",
			in: Input{
				Roles: []rbacv1.Role{role("a", "read", readSecrets),
					role("a", "imp", rule("impersonate", "", "serviceaccounts", "reader"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "r1", "Role", "read", reader),
					roleBinding("a", "r2", "Role", "imp", alice)},
				ServiceAccounts: []corev1.ServiceAccount{account("a", "reader"), account("a", "idle")},
			},
			who:  alice,
			want: []want{{"a", All, "impersonate serviceaccounts as ServiceAccount/a/reader → RoleBinding/a/r1"}},
		},
		{
			name: "impersonate another ServiceAccount, or users through a RoleBinding",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("impu", nil, rule("impersonate", "", "users,groups"))},
				Roles: []rbacv1.Role{role("a", "read", readSecrets),
					role("a", "imp", rule("impersonate", "", "serviceaccounts", "idle"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "r1", "Role", "read", reader),
					roleBinding("a", "r2", "Role", "imp", alice), roleBinding("a", "r3", "ClusterRole", "impu", alice)},
				ServiceAccounts: []corev1.ServiceAccount{account("a", "reader"), account("a", "idle")},
			},
			who: alice,
			not: []miss{{"a", "s1"}},
		},
		{
			name: "impersonate any group reaches system:masters",
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("imp", nil, rule("impersonate", "", "groups"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "imp", alice)},
			},
			who:  alice,
			want: []want{{All, All, "impersonate groups as Group/system:masters → group system:masters"}},
		},
		{
			name: "impersonate a named user",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("imp", nil, rule("impersonate", "", "users", "bob")),
					clusterRole("read", nil, readSecrets)},
				RoleBindings:        []rbacv1.RoleBinding{roleBinding("b", "rb", "ClusterRole", "read", user("bob"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "imp", alice)},
			},
			who:  alice,
			want: []want{{"b", All, "impersonate users as User/bob"}},
			not:  []miss{{"a", "s1"}},
		},
		{
			name: "escalate or bind on roles",
			in: Input{
				Roles: []rbacv1.Role{role("a", "e", rule("escalate", rbacGroup, "roles")),
					role("b", "one", rule("get", "", "secrets", "s1")),
					role("b", "bnd", rule("bind", rbacGroup, "roles", "one"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "e", alice),
					roleBinding("b", "rb", "Role", "bnd", alice)},
			},
			who: alice,
			want: []want{
				{"a", All, "escalate a role granting read on secrets"},
				{"b", "s1", "bind role one → Role/b/one rule[0]"},
			},
			not: []miss{{"b", "s2"}},
		},
		{
			name: "escalate in another namespace, bind on other resources",
			in: Input{
				Roles: []rbacv1.Role{role("b", "e", rule("escalate", rbacGroup, "roles")),
					role("a", "bnd", rule("bind", rbacGroup, "rolebindings"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("b", "rb", "Role", "e", alice),
					roleBinding("a", "rb", "Role", "bnd", alice)},
			},
			who: alice,
			not: []miss{{"a", "s1"}},
		},
		{
			name: "create a token for a ServiceAccount that reads",
			in: Input{
				Roles: []rbacv1.Role{role("a", "read", readSecrets),
					role("a", "tok", rule("create", "", "serviceaccounts/token"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "r1", "Role", "read", reader),
					roleBinding("a", "r2", "Role", "tok", alice)},
				ServiceAccounts: []corev1.ServiceAccount{account("a", "reader")},
			},
			who:  alice,
			want: []want{{"a", All, "create serviceaccounts/token as ServiceAccount/a/reader"}},
		},
		{
			name: "a token carries its ServiceAccount's indirect paths too",
			in: Input{
				Roles: []rbacv1.Role{role("a", "pods", rule("create", "", "pods")),
					role("a", "tok", rule("create", "", "serviceaccounts/token", "reader"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "r1", "Role", "pods", reader),
					roleBinding("a", "r2", "Role", "tok", alice)},
				ServiceAccounts: []corev1.ServiceAccount{account("a", "reader")},
			},
			who:  alice,
			want: []want{{"a", All, "as ServiceAccount/a/reader → RoleBinding/a/r1 → Role/a/pods rule[0] create pods → create pods"}},
			not:  []miss{{"b", "s1"}},
		},
		{
			name: "cluster-wide exec reaches mounted Secrets of every namespace",
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("x", nil, rule("create", "", "pods/exec"))},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "x", alice)},
				Pods:                []corev1.Pod{podWithVolume("a", "p", "", "s1"), podWithVolume("b", "q", "", "s2")},
				Secrets:             secretsAB,
			},
			who: alice,
			want: []want{{"a", "s1", "ClusterRoleBinding/crb → ClusterRole/x rule[0] create pods/exec → pods/exec into Pod a/p"},
				{"b", "s2", "pods/exec into Pod b/q"}},
			not: []miss{{"a", "s2"}, {"b", "s1"}},
		},
		{
			name: "aggregation chains through an aggregated role",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{
					{ObjectMeta: metav1.ObjectMeta{Name: "top"}, AggregationRule: &rbacv1.AggregationRule{
						ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"top": "true"}}}}},
					{ObjectMeta: metav1.ObjectMeta{Name: "mid", Labels: map[string]string{"top": "true"}},
						AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
							{MatchLabels: map[string]string{"mid": "true"}}}}},
					clusterRole("leaf", map[string]string{"mid": "true"}, readSecrets),
				},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "ClusterRole", "top", alice)},
			},
			who:  alice,
			want: []want{{"a", All, "RoleBinding/a/rb → ClusterRole/leaf rule[0]"}},
			not:  []miss{{"b", "s1"}},
		},
		{
			name: "aggregation cycle terminates",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{
					{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"y": "true"}},
						AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
							{MatchLabels: map[string]string{"x": "true"}}}}},
					{ObjectMeta: metav1.ObjectMeta{Name: "y", Labels: map[string]string{"x": "true"}},
						AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
							{MatchLabels: map[string]string{"y": "true"}}}}, Rules: []rbacv1.PolicyRule{readSecrets}},
				},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "x", alice)},
			},
			who:  alice,
			want: []want{{All, All, "ClusterRoleBinding/crb → ClusterRole/y rule[0]"}},
		},
		{
			name: "token in a namespace whose ServiceAccounts read nothing",
			in: Input{
				Roles: []rbacv1.Role{role("a", "read", readSecrets),
					role("b", "tok", rule("create", "", "serviceaccounts/token"))},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "r1", "Role", "read", reader),
					roleBinding("b", "r2", "Role", "tok", alice)},
				ServiceAccounts: []corev1.ServiceAccount{account("a", "reader"), account("b", "idle")},
			},
			who: alice,
			not: []miss{{"a", "s1"}, {"b", "s1"}},
		},
		{
			name: "system:masters reads everything",
			in:   Input{},
			who:  group(GroupMasters),
			want: []want{{All, All, "system:masters"}},
		},
		{
			name: "no binding, no read",
			in:   Input{},
			who:  alice,
			not:  []miss{{"a", "s1"}},
		},
		{
			name: "node reads the Secrets of its own Pods",
			in: Input{
				Pods: []corev1.Pod{podWithEnv("a", "p", "n1", "s1"),
					{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "q"}, Spec: corev1.PodSpec{NodeName: "n1",
						ImagePullSecrets: []corev1.LocalObjectReference{{Name: "s2"}}}}},
				Secrets: secretsAB,
			},
			who: user("system:node:n1"),
			want: []want{{"a", "s1", "node authorizer: Pod a/p runs on node n1"},
				{"b", "s2", "node authorizer: Pod b/q"}},
			not: []miss{{"a", "s2"}},
		},
		{
			name: "another node, an unscheduled Pod",
			in: Input{
				Pods:    []corev1.Pod{podWithEnv("a", "p", "n1", "s1"), podWithVolume("a", "q", "", "s2")},
				Secrets: secretsAB,
			},
			who: user("system:node:n2"),
			not: []miss{{"a", "s1"}, {"a", "s2"}},
		},
		{
			name: "a node's kubelet is in system:nodes",
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("read", nil, readSecrets)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "read", group(GroupNodes))},
			},
			who:  user("system:node:n1"),
			want: []want{{All, All, "member of Group/system:nodes"}},
		},
		{
			name: "a ServiceAccount asked for by its user name",
			in: Input{
				Roles:        []rbacv1.Role{role("a", "read", readSecrets)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "read", reader)},
			},
			who:  user("system:serviceaccount:a:reader"),
			want: []want{{"a", All, "RoleBinding/a/rb"}},
			not:  []miss{{"b", "s1"}},
		},
		{
			name: "ServiceAccount reads through its namespace group",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("read", nil, readSecrets)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "ClusterRole", "read",
					group(GroupServiceAccounts+":a"))},
			},
			who:  reader,
			want: []want{{"a", All, "member of Group/system:serviceaccounts:a → RoleBinding/a/rb"}},
		},
		{
			name: "ServiceAccount of another namespace is not in that group",
			in: Input{
				ClusterRoles: []rbacv1.ClusterRole{clusterRole("read", nil, readSecrets)},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "ClusterRole", "read",
					group(GroupServiceAccounts+":a"))},
			},
			who: sa("b", "reader"),
			not: []miss{{"a", "s1"}},
		},
		{
			name: "every authenticated user",
			in: Input{
				ClusterRoles:        []rbacv1.ClusterRole{clusterRole("read", nil, readSecrets)},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{clusterBinding("crb", "read", group(GroupAuthenticated))},
			},
			who:  user("bob"),
			want: []want{{All, All, "member of Group/system:authenticated"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Analyze(tc.in)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			got := r.For(tc.who)
			for _, w := range tc.want {
				if !found(got, w.ns, w.secret, w.via) {
					t.Errorf("%s: no grant %s/%s via %q; got %+v", tc.who, w.ns, w.secret, w.via, got)
				}
			}
			for _, m := range tc.not {
				if can(got, m.ns, m.secret) {
					t.Errorf("%s: unexpected grant reaching %s/%s: %+v", tc.who, m.ns, m.secret, got)
				}
			}
		})
	}
}

func TestVerbsMerged(t *testing.T) {
	alice := user("alice")
	r, err := Analyze(Input{
		Roles:        []rbacv1.Role{role("a", "g", rule("get", "", "secrets")), role("a", "l", rule("list", "", "secrets"))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "g", "Role", "g", alice), roleBinding("a", "l", "Role", "l", alice)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := r.For(alice)
	if len(got) != 1 || strings.Join(got[0].Verbs, ",") != "get,list" || len(got[0].Via) != 2 {
		t.Fatalf("want one grant with verbs get,list and two chains, got %+v", got)
	}
}

func TestNamespace(t *testing.T) {
	alice, bob := user("alice"), user("bob")
	r, err := Analyze(Input{
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("read", nil, rule("get", "", "secrets"))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "ClusterRole", "read", alice),
			roleBinding("b", "rb", "ClusterRole", "read", bob)},
	})
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[Subject]bool{}
	for _, g := range r.Namespace("a") {
		subjects[g.Subject] = true
	}
	if !subjects[alice] || subjects[bob] || !subjects[group(GroupMasters)] {
		t.Fatalf("namespace a: want alice and system:masters, not bob; got %v", subjects)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{
			name: "bad aggregation selector",
			in: Input{ClusterRoles: []rbacv1.ClusterRole{{ObjectMeta: metav1.ObjectMeta{Name: "agg"},
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Bogus"}}}}}}}},
			want: "clusterrole agg: aggregation selector 0",
		},
		{
			name: "unknown roleRef kind",
			in: Input{RoleBindings: []rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "rb"},
				RoleRef: rbacv1.RoleRef{Kind: "Policy", Name: "x"}}}},
			want: "rolebinding a/rb: roleRef kind",
		},
		{
			name: "clusterrolebinding to a Role",
			in: Input{ClusterRoleBindings: []rbacv1.ClusterRoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "crb"},
				RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "x"}}}},
			want: "clusterrolebinding crb: roleRef to Role",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyze(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestSecretAndJSON(t *testing.T) {
	r, err := Analyze(Input{
		Roles:        []rbacv1.Role{role("a", "one", rule("get", "", "secrets", "s1"))},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("a", "rb", "Role", "one", sa("a", "app"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	var readers []string
	for _, g := range r.Secret("a", "s1") {
		readers = append(readers, g.Subject.String())
	}
	if strings.Join(readers, " ") != "Group/system:masters ServiceAccount/a/app" {
		t.Fatalf("readers of a/s1: %v", readers)
	}
	if got := r.Secret("a", "s2"); len(got) != 1 || got[0].Subject != group(GroupMasters) {
		t.Fatalf("readers of a/s2: want system:masters only, got %+v", got)
	}
	b, err := json.Marshal(r.Secret("a", "s1")[1])
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"subject":{"kind":"ServiceAccount","name":"app","namespace":"a"},"namespace":"a","secret":"s1",` +
		`"verbs":["get"],"via":["RoleBinding/a/rb → Role/a/one rule[0] get secrets names=s1"]}`
	if string(b) != want {
		t.Fatalf("json:\n got %s\nwant %s", b, want)
	}
}
