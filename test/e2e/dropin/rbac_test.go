package dropin

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// The rules the peers' own charts grant their controllers, written out as
// facts so the tests run Keyward with exactly what such an install has.

// bitnamiClusterRules are what Bitnami's sealed-secrets chart (v0.40.0)
// grants its controller cluster-wide (ClusterRole secrets-unsealer).
var bitnamiClusterRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"bitnami.com"}, Resources: []string{"sealedsecrets"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"bitnami.com"}, Resources: []string{"sealedsecrets/status"}, Verbs: []string{"update"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
}

// bitnamiKeyRules are what the chart grants in the controller's own
// namespace for its keys (Role sealed-secrets-key-admin).
var bitnamiKeyRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"sealed-secrets-key"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "list"}},
}

// esoClusterRules are what the External Secrets Operator's chart grants
// its controller cluster-wide (ClusterRole <release>-controller).
var esoClusterRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"external-secrets.io"}, Resources: []string{"secretstores", "clustersecretstores", "externalsecrets", "clusterexternalsecrets", "pushsecrets"},
		Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"external-secrets.io"}, Resources: []string{
		"externalsecrets", "externalsecrets/status", "externalsecrets/finalizers",
		"secretstores", "secretstores/status", "secretstores/finalizers",
		"clustersecretstores", "clustersecretstores/status", "clustersecretstores/finalizers",
		"clusterexternalsecrets", "clusterexternalsecrets/status", "clusterexternalsecrets/finalizers",
		"pushsecrets", "pushsecrets/status", "pushsecrets/finalizers",
	}, Verbs: []string{"update", "patch"}},
	{APIGroups: []string{"generators.external-secrets.io"}, Resources: []string{"acraccesstokens", "clustergenerators",
		"ecrauthorizationtokens", "fakes", "gcraccesstokens", "githubaccesstokens", "quayaccesstokens", "passwords", "stssessiontokens",
		"uuids", "vaultdynamicsecrets", "webhooks", "grafanas"},
		Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "namespaces"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	{APIGroups: []string{"external-secrets.io"}, Resources: []string{"externalsecrets"}, Verbs: []string{"create", "update", "delete"}},
}

// esoLeaderRules are what the chart grants in the controller's namespace
// for leader election (Role <release>-leaderelection).
var esoLeaderRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"external-secrets-controller"}, Verbs: []string{"get", "update", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update", "patch"}},
}
