package clusterexternalsecret

// For controller-gen's rbac generator (see internal/controller/externalsecret/rbac.go).
// A ClusterExternalSecret makes, changes and removes ExternalSecrets in the
// namespaces it selects.
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets/status,verbs=patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=create;update;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
