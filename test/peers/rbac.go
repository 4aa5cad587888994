package peers

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ServiceAccount is the name Bitnami's Helm chart gives the controller's
// ServiceAccount.
const ServiceAccount = "sealed-secrets-controller"

// ChartRBAC is the ClusterRole and its binding to ServiceAccount in ns with
// the permissions Bitnami's Helm chart grants its controller, named for ns
// so that controllers in several namespaces do not clash.
func ChartRBAC(ns string) []client.Object {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "secrets-unsealer-" + ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"bitnami.com"}, Resources: []string{"sealedsecrets"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"bitnami.com"}, Resources: []string{"sealedsecrets/status"}, Verbs: []string{"update"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: ServiceAccount}},
	}
	return []client.Object{role, binding}
}

// InClusterFor is what a Pod in ns whose ServiceAccount authenticates as
// cfg (a token connection) sees.
func InClusterFor(cfg *rest.Config, ns string) InCluster {
	return InCluster{Host: cfg.Host, CA: cfg.CAData, Token: cfg.BearerToken, Namespace: ns}
}
