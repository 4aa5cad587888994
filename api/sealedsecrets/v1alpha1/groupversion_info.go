// Package v1alpha1 holds the bitnami.com/v1alpha1 SealedSecret types, wire
// compatible with Bitnami Sealed Secrets so existing manifests and clusters
// work unchanged.
//
// +kubebuilder:object:generate=true
// +groupName=bitnami.com
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "bitnami.com", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&SealedSecret{}, &SealedSecretList{})
}
