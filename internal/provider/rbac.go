package provider

// What building a store client reads, for controller-gen's rbac generator:
// credential Secrets and ConfigMaps a store refers to, the ServiceAccounts
// of workload-identity and Kubernetes auth and a token for each
// (TokenRequest), and namespaces for ClusterSecretStore conditions.
//
// +kubebuilder:rbac:groups="",resources=secrets;configmaps;serviceaccounts,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get
