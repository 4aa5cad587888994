// Package v1alpha1 holds the generators.external-secrets.io/v1alpha1 types
// Keyward runs: Password, UUID, Fake, VaultDynamicSecret and the
// cluster-scoped ClusterGenerator that wraps any of them. Field names,
// kinds and scopes are the External Secrets Operator's, so an
// ExternalSecret or PushSecret written for ESO names the same generators.
// A generator keeps no state: each use makes a new value.
//
// +kubebuilder:object:generate=true
// +groupName=generators.external-secrets.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "generators.external-secrets.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// The kinds, as a generatorRef names them.
const (
	PasswordKind           = "Password"
	UUIDKind               = "UUID"
	FakeKind               = "Fake"
	VaultDynamicSecretKind = "VaultDynamicSecret"
	ClusterGeneratorKind   = "ClusterGenerator"
)

func init() {
	SchemeBuilder.Register(
		&Password{}, &PasswordList{},
		&UUID{}, &UUIDList{},
		&Fake{}, &FakeList{},
		&VaultDynamicSecret{}, &VaultDynamicSecretList{},
		&ClusterGenerator{}, &ClusterGeneratorList{},
	)
}
