package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// PushSecretUpdatePolicy says whether an existing remote value is overwritten.
// +kubebuilder:validation:Enum=Replace;IfNotExists
type PushSecretUpdatePolicy string

const (
	PushSecretUpdatePolicyReplace     PushSecretUpdatePolicy = "Replace"
	PushSecretUpdatePolicyIfNotExists PushSecretUpdatePolicy = "IfNotExists"
)

// PushSecretDeletionPolicy says whether remote values are deleted with the PushSecret.
// +kubebuilder:validation:Enum=Delete;None
type PushSecretDeletionPolicy string

const (
	PushSecretDeletionPolicyDelete PushSecretDeletionPolicy = "Delete"
	PushSecretDeletionPolicyNone   PushSecretDeletionPolicy = "None"
)

// PushSecretConversionStrategy rewrites key names before pushing.
// +kubebuilder:validation:Enum=None;ReverseUnicode
type PushSecretConversionStrategy string

const (
	PushSecretConversionNone           PushSecretConversionStrategy = "None"
	PushSecretConversionReverseUnicode PushSecretConversionStrategy = "ReverseUnicode"
)

// FinalizerPushSecret lets the controller delete remote values (deletionPolicy Delete).
const FinalizerPushSecret = "pushsecret.externalsecrets.io/finalizer"

// PushSecretStoreRef names stores by name or by label selector.
type PushSecretStoreRef struct {
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// Kind is SecretStore (when empty) or ClusterSecretStore.
	// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
	// +optional
	Kind string `json:"kind,omitempty"`
}

// PushSecretSecret picks the source Secret by name or selector.
type PushSecretSecret struct {
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// PushSecretSelector is the source of the values.
type PushSecretSelector struct {
	// +optional
	Secret *PushSecretSecret `json:"secret,omitempty"`
	// GeneratorRef makes a new value on every push instead of reading a Secret.
	// +optional
	GeneratorRef *esv1.GeneratorRef `json:"generatorRef,omitempty"`
}

// PushSecretRemoteRef is where a value goes.
type PushSecretRemoteRef struct {
	// RemoteKey is the remote secret's name.
	// +kubebuilder:validation:MinLength=1
	RemoteKey string `json:"remoteKey"`
	// Property is a field of the remote secret; the whole secret when empty.
	// +optional
	Property string `json:"property,omitempty"`
}

// PushSecretMatch picks one Secret key and its destination.
type PushSecretMatch struct {
	// SecretKey in the source Secret; every key when empty.
	// +optional
	SecretKey string              `json:"secretKey,omitempty"`
	RemoteRef PushSecretRemoteRef `json:"remoteRef"`
}

// PushSecretData is one pushed value.
type PushSecretData struct {
	Match PushSecretMatch `json:"match"`
	// Metadata is provider-specific.
	// +optional
	Metadata *apiextensionsv1.JSON `json:"metadata,omitempty"`
	// +optional
	ConversionStrategy PushSecretConversionStrategy `json:"conversionStrategy,omitempty"`
}

// PushSecretDataToMatch selects Secret keys by regular expression.
type PushSecretDataToMatch struct {
	// +optional
	RegExp string `json:"regexp,omitempty"`
}

// PushSecretDataTo pushes many keys at once.
type PushSecretDataTo struct {
	// +optional
	StoreRef *PushSecretStoreRef `json:"storeRef,omitempty"`
	// RemoteKey bundles all matched keys into one remote secret when set.
	// +optional
	RemoteKey string `json:"remoteKey,omitempty"`
	// +optional
	Match *PushSecretDataToMatch `json:"match,omitempty"`
	// +optional
	Rewrite []esv1.ExternalSecretRewrite `json:"rewrite,omitempty"`
	// +optional
	Metadata *apiextensionsv1.JSON `json:"metadata,omitempty"`
	// +optional
	ConversionStrategy PushSecretConversionStrategy `json:"conversionStrategy,omitempty"`
}

// PushSecretSpec configures what is pushed where.
type PushSecretSpec struct {
	// RefreshInterval between pushes (1h when unset).
	// +kubebuilder:validation:Type=string
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`
	// +optional
	SecretStoreRefs []PushSecretStoreRef `json:"secretStoreRefs,omitempty"`
	// +optional
	UpdatePolicy PushSecretUpdatePolicy `json:"updatePolicy,omitempty"`
	// +optional
	DeletionPolicy PushSecretDeletionPolicy `json:"deletionPolicy,omitempty"`
	Selector       PushSecretSelector       `json:"selector"`
	// +optional
	Data []PushSecretData `json:"data,omitempty"`
	// +optional
	DataTo []PushSecretDataTo `json:"dataTo,omitempty"`
	// Template renders the values before they are pushed.
	// +optional
	Template *esv1.ExternalSecretTemplate `json:"template,omitempty"`
}

// PushSecretConditionType is a status condition type.
type PushSecretConditionType string

// PushSecretReady is the only condition.
const PushSecretReady PushSecretConditionType = "Ready"

// Reasons.
const (
	ReasonPushSynced  = "Synced"
	ReasonPushErrored = "Errored"
)

// PushSecretStatusCondition is ESO's condition shape.
type PushSecretStatusCondition struct {
	Type   PushSecretConditionType `json:"type"`
	Status corev1.ConditionStatus  `json:"status"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// SyncedPushSecretsMap maps "Kind/storeName" to remote key to the data pushed there.
type SyncedPushSecretsMap map[string]map[string]PushSecretData

// PushSecretStatus is the observed state.
type PushSecretStatus struct {
	// +nullable
	// +optional
	RefreshTime metav1.Time `json:"refreshTime,omitempty"`
	// +optional
	SyncedResourceVersion string `json:"syncedResourceVersion,omitempty"`
	// +optional
	SyncedPushSecrets SyncedPushSecretsMap `json:"syncedPushSecrets,omitempty"`
	// +optional
	Conditions []PushSecretStatusCondition `json:"conditions,omitempty"`
}

// PushSecret writes values of a Secret into external stores.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets},shortName=ps
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type PushSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PushSecretSpec   `json:"spec,omitempty"`
	Status PushSecretStatus `json:"status,omitempty"`
}

// PushSecretList is a list of PushSecrets.
// +kubebuilder:object:root=true
type PushSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PushSecret `json:"items"`
}
