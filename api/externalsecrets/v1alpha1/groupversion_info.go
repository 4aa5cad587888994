// Package v1alpha1 holds external-secrets.io/v1alpha1 PushSecret, which
// writes values of a Kubernetes Secret into external stores. It reuses the
// v1 store reference, template and rewrite types.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "external-secrets.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&PushSecret{}, &PushSecretList{})
}
