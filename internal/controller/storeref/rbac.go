package storeref

// What resolving a store reads beyond the stores themselves: the
// namespace of the object using a ClusterSecretStore, for its
// spec.conditions' namespaceSelector.
//
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get
