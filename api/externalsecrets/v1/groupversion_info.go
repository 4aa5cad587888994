// Package v1 holds the external-secrets.io/v1 types: ExternalSecret,
// SecretStore, ClusterSecretStore and ClusterExternalSecret, field-compatible
// with the External Secrets Operator so existing manifests apply unchanged.
// v1 is the storage version; v1beta1 serves the identical schema.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "external-secrets.io", Version: "v1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(
		&ExternalSecret{}, &ExternalSecretList{},
		&SecretStore{}, &SecretStoreList{},
		&ClusterSecretStore{}, &ClusterSecretStoreList{},
		&ClusterExternalSecret{}, &ClusterExternalSecretList{},
	)
}
