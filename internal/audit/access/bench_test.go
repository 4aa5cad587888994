package access

import (
	"fmt"
	"runtime"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clusterAtScale builds the cluster the audit must handle in its figures:
// 20,000 Secrets, 2,000 ServiceAccounts, 5,000 RoleBindings and 500 Roles over
// 100 namespaces, with 5,000 Pods mounting Secrets on 20 nodes and every kind of
// path present, so no branch of the analysis is skipped.
func clusterAtScale() Input {
	const namespaces, secretsPerNS, sasPerNS, rolesPerNS, bindingsPerNS, podsPerNS = 100, 200, 20, 5, 50, 50
	in := Input{Secrets: make(map[string][]string, namespaces)}
	roleRules := [rolesPerNS][]rbacv1.PolicyRule{
		{rule("get,list,watch", "", "secrets")},
		{rule("get", "", "secrets", "s-0", "s-1", "s-2")},
		{rule("create", "", "pods"), rule("create", "apps", "deployments")},
		{rule("create", "", "pods/exec"), rule("get", "", "pods/attach")},
		{rule("create", "", "serviceaccounts/token", "sa-0"), rule("impersonate", "", "serviceaccounts", "sa-1")},
	}
	in.ClusterRoles = []rbacv1.ClusterRole{
		{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"agg": "true"}}}}},
		clusterRole("view-secrets", map[string]string{"agg": "true"}, rule("get,list", "", "secrets")),
		clusterRole("edit", map[string]string{"agg": "true"}, rule("create,update", "apps", "deployments,statefulsets")),
		clusterRole("node-exec", nil, rule("create", "", "pods/exec")),
		clusterRole("escalator", nil, rule("escalate,bind", rbacGroup, "roles,clusterroles")),
	}
	for i := range 40 {
		in.ClusterRoles = append(in.ClusterRoles, clusterRole(fmt.Sprintf("noise-%d", i), nil,
			rule("get,list", "", "configmaps,services"), rule("get", "apps", "deployments")))
	}
	in.ClusterRoleBindings = []rbacv1.ClusterRoleBinding{
		clusterBinding("agg", "agg", group("ops")),
		clusterBinding("exec", "node-exec", user("debugger")),
		clusterBinding("esc", "escalator", user("rbac-admin")),
	}
	clusterRoleNames := []string{"agg", "view-secrets", "edit", "noise-0", "noise-1"}
	for n := range namespaces {
		ns := fmt.Sprintf("ns-%03d", n)
		for s := range secretsPerNS {
			in.Secrets[ns] = append(in.Secrets[ns], fmt.Sprintf("s-%d", s))
		}
		for s := range sasPerNS {
			in.ServiceAccounts = append(in.ServiceAccounts, account(ns, fmt.Sprintf("sa-%d", s)))
		}
		for r := range rolesPerNS {
			in.Roles = append(in.Roles, role(ns, fmt.Sprintf("r-%d", r), roleRules[r]...))
		}
		for b := range bindingsPerNS {
			kind, ref := "Role", fmt.Sprintf("r-%d", b%rolesPerNS)
			if b%3 == 0 {
				kind, ref = "ClusterRole", clusterRoleNames[b%len(clusterRoleNames)]
			}
			subs := []Subject{sa(ns, fmt.Sprintf("sa-%d", b%sasPerNS)), user(fmt.Sprintf("dev-%d", b%50))}
			if b == 0 {
				subs = append(subs, group(GroupServiceAccounts+":"+ns))
			}
			in.RoleBindings = append(in.RoleBindings, roleBinding(ns, fmt.Sprintf("rb-%d", b), kind, ref, subs...))
		}
		for p := range podsPerNS {
			pod := podWithVolume(ns, fmt.Sprintf("p-%d", p), fmt.Sprintf("node-%d", (n+p)%20), fmt.Sprintf("s-%d", p*4%secretsPerNS))
			pod.Spec.Containers = podWithEnv(ns, "", "", fmt.Sprintf("s-%d", (p*4+1)%secretsPerNS)).Spec.Containers
			in.Pods = append(in.Pods, pod)
		}
	}
	return in
}

func BenchmarkAnalyzeAtScale(b *testing.B) {
	in := clusterAtScale()
	if len(in.RoleBindings) != 5000 || len(in.Roles) != 500 || len(in.ServiceAccounts) != 2000 {
		b.Fatalf("scale: %d rolebindings, %d roles, %d serviceaccounts", len(in.RoleBindings), len(in.Roles), len(in.ServiceAccounts))
	}
	b.ReportAllocs()
	var r *Report
	for b.Loop() {
		var err error
		if r, err = Analyze(in); err != nil {
			b.Fatal(err)
		}
	}
	// The heap still live with input and report held is what the command
	// keeps while it prints; B/op counts garbage too.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MB")
	b.ReportMetric(float64(len(r.Grants)), "grants")
	runtime.KeepAlive(in)
}
