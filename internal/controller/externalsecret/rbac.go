package externalsecret

// The API calls the ExternalSecret controller makes, for controller-gen's
// rbac generator: `make generate` writes deploy/external-secrets/role.yaml
// from these and the markers of the other external-secrets.io controllers
// and internal/provider. Secrets are read cluster-wide because templates
// and DeletionPolicy=Merge targets may be Secrets the controller did not
// make; it deletes only Secrets it owns. Secrets are created and updated,
// never patched; status is only patched.
//
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/status,verbs=patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get
// +kubebuilder:rbac:groups=generators.external-secrets.io,resources=passwords;uuids;fakes;vaultdynamicsecrets;clustergenerators,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=kube-system,resources=leases,verbs=create
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=kube-system,resources=leases,resourceNames=keyward-controller,verbs=get;update
