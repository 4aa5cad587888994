package pushsecret

// For controller-gen's rbac generator (see internal/controller/externalsecret/rbac.go).
// A PushSecret is patched (its finalizer) and its status patched; it owns
// nothing, so it needs no finalizers subresource.
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets/status,verbs=patch
