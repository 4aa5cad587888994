package secretstore

// For controller-gen's rbac generator (see internal/controller/externalsecret/rbac.go).
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores;clustersecretstores,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores/status;clustersecretstores/status,verbs=patch
