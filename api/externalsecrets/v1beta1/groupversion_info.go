// Package v1beta1 serves external-secrets.io/v1beta1 with exactly the v1
// schema, so manifests written for ESO <= 0.16 keep applying (ESO stopped
// serving v1beta1 in 0.17). The *_types.go files are copies of ../v1, kept
// in step by TestSameSchemaAsV1 (run it with -update after changing v1);
// objects are stored as v1 and need no conversion.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "external-secrets.io", Version: "v1beta1"}

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
