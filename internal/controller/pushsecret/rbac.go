package pushsecret

// For controller-gen's rbac generator (see internal/controller/externalsecret/rbac.go).
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets/status,verbs=update;patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets/finalizers,verbs=update
