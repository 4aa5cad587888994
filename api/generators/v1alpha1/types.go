package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// PasswordSpec describes a random password. Unset counts take a quarter of
// the length each; the rest are letters.
type PasswordSpec struct {
	// Length is the number of characters.
	// +kubebuilder:default=24
	Length int `json:"length"`
	// Digits is how many characters are digits (default: a quarter of length).
	// +optional
	Digits *int `json:"digits,omitempty"`
	// Symbols is how many characters are symbols (default: a quarter of length).
	// +optional
	Symbols *int `json:"symbols,omitempty"`
	// SymbolCharacters are the symbols to pick from.
	// +optional
	SymbolCharacters *string `json:"symbolCharacters,omitempty"`
	// NoUpper leaves out upper-case letters.
	// +kubebuilder:default=false
	NoUpper bool `json:"noUpper"`
	// AllowRepeat lets a character appear more than once.
	// +kubebuilder:default=false
	AllowRepeat bool `json:"allowRepeat"`
	// SecretKeys are the keys that each get a password of their own
	// (default: one key, "password").
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:items:MinLength=1
	SecretKeys []string `json:"secretKeys,omitempty"`
	// Encoding of each password: raw (default), base64, base64url, base32 or hex.
	// +optional
	// +kubebuilder:default=raw
	// +kubebuilder:validation:Enum=base64;base64url;base32;hex;raw
	Encoding *string `json:"encoding,omitempty"`
}

// Password makes new random passwords (key "password", or spec.secretKeys) on every use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type Password struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PasswordSpec `json:"spec,omitempty"`
}

// PasswordList is a list of Passwords.
//
// +kubebuilder:object:root=true
type PasswordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Password `json:"items"`
}

// UUIDSpec has no settings.
type UUIDSpec struct{}

// UUID makes a new random UUID (key "uuid") on every use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type UUID struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec UUIDSpec `json:"spec,omitempty"`
}

// UUIDList is a list of UUIDs.
//
// +kubebuilder:object:root=true
type UUIDList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UUID `json:"items"`
}

// FakeSpec holds the fixed values a Fake generator returns, for tests.
type FakeSpec struct {
	// Controller is the controller class that serves this generator.
	// +optional
	Controller string `json:"controller,omitempty"`
	// Data is returned as it is.
	// +optional
	Data map[string]string `json:"data,omitempty"`
}

// Fake returns spec.data on every use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type Fake struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FakeSpec `json:"spec,omitempty"`
}

// FakeList is a list of Fakes.
//
// +kubebuilder:object:root=true
type FakeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fake `json:"items"`
}

// VaultDynamicSecretResultType picks the part of Vault's answer returned.
// +kubebuilder:validation:Enum=Data;Auth;Raw
type VaultDynamicSecretResultType string

// The result types.
const (
	VaultDynamicSecretResultTypeData VaultDynamicSecretResultType = "Data"
	VaultDynamicSecretResultTypeAuth VaultDynamicSecretResultType = "Auth"
	VaultDynamicSecretResultTypeRaw  VaultDynamicSecretResultType = "Raw"
)

// VaultDynamicSecretSpec is one Vault API call that makes a new credential
// (a certificate from pki/issue, a database login, a token).
type VaultDynamicSecretSpec struct {
	// Controller is the controller class that serves this generator.
	// +optional
	Controller string `json:"controller,omitempty"`
	// Method is the HTTP method: GET (default), LIST, DELETE, or any other
	// (POST, PUT), which writes parameters.
	// +optional
	Method string `json:"method,omitempty"`
	// Parameters is the body of a write.
	// +optional
	Parameters *apiextensionsv1.JSON `json:"parameters,omitempty"`
	// GetParameters is the query string of a GET (each key may repeat);
	// other methods ignore it.
	// +optional
	GetParameters map[string][]string `json:"getParameters,omitempty"`
	// ResultType picks what is returned: the answer's data (default), its
	// auth section, or the whole answer.
	// +kubebuilder:default=Data
	// +optional
	ResultType VaultDynamicSecretResultType `json:"resultType,omitempty"`
	// RetrySettings configures retries of failed calls.
	// +optional
	RetrySettings *esv1.SecretStoreRetrySettings `json:"retrySettings,omitempty"`
	// Provider is how to reach and log in to Vault, as a SecretStore's
	// spec.provider.vault. A Vault generator reads credentials only from
	// its own namespace.
	Provider *esv1.VaultProvider `json:"provider"`
	// Path is the Vault API path, for example pki/issue/my-role.
	Path string `json:"path"`
	// AllowEmptyResponse makes an empty answer yield no keys instead of an error.
	// +kubebuilder:default=false
	// +optional
	AllowEmptyResponse bool `json:"allowEmptyResponse,omitempty"`
}

// VaultDynamicSecret calls Vault on every use and returns what it answers.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets,external-secrets-generators}
type VaultDynamicSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultDynamicSecretSpec `json:"spec,omitempty"`
}

// VaultDynamicSecretList is a list of VaultDynamicSecrets.
//
// +kubebuilder:object:root=true
type VaultDynamicSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VaultDynamicSecret `json:"items"`
}

// GeneratorKind names the kind a ClusterGenerator wraps.
type GeneratorKind string

// GeneratorSpec holds the spec of the wrapped generator; the one set must
// match spec.kind. ESO's other kinds (registry tokens, webhooks and the
// like) are not run by Keyward.
type GeneratorSpec struct {
	// +optional
	FakeSpec *FakeSpec `json:"fakeSpec,omitempty"`
	// +optional
	PasswordSpec *PasswordSpec `json:"passwordSpec,omitempty"`
	// +optional
	UUIDSpec *UUIDSpec `json:"uuidSpec,omitempty"`
	// +optional
	VaultDynamicSecretSpec *VaultDynamicSecretSpec `json:"vaultDynamicSecretSpec,omitempty"`
}

// ClusterGeneratorSpec is the wrapped generator.
type ClusterGeneratorSpec struct {
	// Kind of the wrapped generator: Password, UUID, Fake or VaultDynamicSecret.
	Kind GeneratorKind `json:"kind"`
	// Generator is its spec; the field set must match kind.
	Generator GeneratorSpec `json:"generator"`
}

// ClusterGenerator is a generator any namespace may use. Credentials it
// names without a namespace are read in the namespace of the object using it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={external-secrets,external-secrets-generators}
type ClusterGenerator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ClusterGeneratorSpec `json:"spec,omitempty"`
}

// ClusterGeneratorList is a list of ClusterGenerators.
//
// +kubebuilder:object:root=true
type ClusterGeneratorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterGenerator `json:"items"`
}
