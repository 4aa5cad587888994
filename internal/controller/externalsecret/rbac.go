package externalsecret

// The API calls the ExternalSecret controller makes, for controller-gen's
// rbac generator: `make generate` writes deploy/external-secrets/role.yaml
// from these and the markers of the other external-secrets.io controllers
// and internal/provider. Secrets are read cluster-wide because templates
// and DeletionPolicy=Merge targets may be Secrets the controller did not
// make; it deletes only Secrets it owns.
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/status,verbs=update;patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=kube-system,resources=leases,verbs=get;create;update
