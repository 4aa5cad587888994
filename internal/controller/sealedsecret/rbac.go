package sealedsecret

// The API calls the SealedSecret controller makes, for controller-gen's
// rbac generator: `make generate` writes deploy/sealed-secrets/role.yaml
// from these and the markers in internal/keys. Secrets are read and written
// only as the unsealed output (the cache watches them label-selected, but
// RBAC cannot select by label). Deleting them is the garbage collector's
// job, through their owner reference; --old-gc-behavior deletes them here
// instead, and needs a delete rule the shipped role deliberately lacks
// (docs/sealing.md shows it). Status is only patched; Events are core/v1
// (internal/eventrec); the leader-election Lease can be created under any
// name (RBAC cannot name what does not exist yet) but read and renewed only
// as keyward-controller.
//
// +kubebuilder:rbac:groups=bitnami.com,resources=sealedsecrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=bitnami.com,resources=sealedsecrets/status,verbs=patch
// +kubebuilder:rbac:groups=bitnami.com,resources=sealedsecrets/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=kube-system,resources=leases,verbs=create
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=kube-system,resources=leases,resourceNames=keyward-controller,verbs=get;update
