package provider

// What building a store client reads, for controller-gen's rbac generator:
// credential Secrets and ConfigMaps a store refers to, and the
// ServiceAccounts of workload-identity and Kubernetes auth and a token for
// each (TokenRequest).
//
// +kubebuilder:rbac:groups="",resources=secrets;configmaps;serviceaccounts,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
