package keys

// The key Secrets live in the controller's own namespace: the registry
// watches them, reads the legacy one by name and creates new ones, and
// never updates or deletes one. For controller-gen's rbac generator; the
// namespace is the default one, which kustomize and the chart rewrite.
//
// +kubebuilder:rbac:groups="",namespace=kube-system,resources=secrets,verbs=get;list;watch;create
