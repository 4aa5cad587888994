package reload

// The reload controller's rights (deploy/components/reload/role.yaml is
// generated from these by `make generate`): it watches workloads and patches
// two annotations on them, watches Secrets' metadata everywhere but reads a
// Secret only when a workload that opted in uses it, and keeps the key of
// its hashes in one Secret in the controller's namespace.
//
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",namespace=kube-system,resources=secrets,verbs=create
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
