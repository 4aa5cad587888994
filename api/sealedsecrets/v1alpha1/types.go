package v1alpha1

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kind and APIVersion as written in manifests.
const (
	Kind       = "SealedSecret"
	ListKind   = "SealedSecretList"
	APIVersion = "bitnami.com/v1alpha1"
)

// Annotations shared with Bitnami Sealed Secrets. Only the exact value "true"
// switches any of them on.
const (
	annotationPrefix = "sealedsecrets.bitnami.com/"

	// NamespaceWideAnnotation selects the namespace-wide scope.
	NamespaceWideAnnotation = annotationPrefix + "namespace-wide"
	// ClusterWideAnnotation selects the cluster-wide scope (wins over
	// namespace-wide when both are set).
	ClusterWideAnnotation = annotationPrefix + "cluster-wide"
	// ManagedAnnotation on an existing Secret lets a SealedSecret take it over.
	ManagedAnnotation = annotationPrefix + "managed"
	// PatchAnnotation on an existing Secret makes the controller merge into it.
	PatchAnnotation = annotationPrefix + "patch"
	// SkipSetOwnerReferencesAnnotation on the template keeps the Secret
	// free of an owner reference, so it outlives its SealedSecret.
	SkipSetOwnerReferencesAnnotation = annotationPrefix + "skip-set-owner-references"
)

// SecretTemplateSpec is the shape of the Secret the controller writes.
type SecretTemplateSpec struct {
	// Standard object metadata copied to the Secret; namespace and name are
	// always the SealedSecret's.
	// +optional
	// +nullable
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Type of the Secret (for example Opaque or kubernetes.io/tls).
	// +optional
	Type corev1.SecretType `json:"type,omitempty"`

	// Immutable makes the Secret immutable when it is created.
	// +optional
	Immutable *bool `json:"immutable,omitempty"`

	// Data holds Go text/template strings rendered with the decrypted items
	// (a map of item name to plaintext string); the results are added to, or
	// override, the Secret's data.
	// +optional
	// +nullable
	Data map[string]string `json:"data,omitempty"`
}

// SealedSecretSpec is the specification of a SealedSecret.
type SealedSecretSpec struct {
	// Template shapes the Secret created from this SealedSecret.
	// +optional
	Template SecretTemplateSpec `json:"template,omitempty"`

	// Data is the deprecated v1 format: the whole Secret as JSON, sealed as
	// one value. Use encryptedData.
	// +optional
	Data []byte `json:"data,omitempty"`

	// EncryptedData maps item names to sealed values (base64 text form).
	// +kubebuilder:validation:Required
	EncryptedData SealedSecretEncryptedData `json:"encryptedData"`
}

// SealedSecretEncryptedData maps item names to sealed values.
// +kubebuilder:pruning:PreserveUnknownFields
type SealedSecretEncryptedData map[string]string

// UnmarshalJSON is lenient as the upstream controller is: the schema does not
// validate this map, and one malformed entry must not stop the controller
// from reading the object. Non-string values are dropped; the item then fails
// as missing rather than crashing a reconcile.
func (d *SealedSecretEncryptedData) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	out := SealedSecretEncryptedData{}
	if err := json.Unmarshal(b, &raw); err == nil {
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
			}
		}
	}
	*d = out
	return nil
}

// SealedSecretConditionType is the type of a SealedSecret condition.
type SealedSecretConditionType string

// SealedSecretSynced is true when the Secret was unsealed and written.
const SealedSecretSynced SealedSecretConditionType = "Synced"

// SealedSecretCondition describes the state of a SealedSecret at a point in time.
type SealedSecretCondition struct {
	// Type of condition; only "Synced".
	Type SealedSecretConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastUpdateTime is the last time this condition was updated.
	// +optional
	LastUpdateTime metav1.Time `json:"lastUpdateTime,omitempty"`
	// LastTransitionTime is the last time the status changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
	// Reason for the last transition.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable explanation; empty on success.
	// +optional
	Message string `json:"message,omitempty"`
}

// SealedSecretStatus is the most recently observed status of a SealedSecret.
type SealedSecretStatus struct {
	// ObservedGeneration is the generation most recently acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are the latest observations of the SealedSecret's state.
	// +optional
	// +patchMergeKey=type
	// +patchStrategy=merge
	Conditions []SealedSecretCondition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// KeyFingerprints are the fingerprints (hex SHA-256 of the PKIX public
	// key) of the sealing keys that opened the items, sorted and distinct.
	// A key no SealedSecret lists any more can be retired.
	// +optional
	KeyFingerprints []string `json:"keyFingerprints,omitempty"`
	// ValueChangedTime is when the Secret's data last changed (a pass that
	// writes the same values keeps it). Keyward's; Bitnami's controller does
	// not set it.
	// +optional
	ValueChangedTime *metav1.Time `json:"valueChangedTime,omitempty"`
}

// SealedSecret is a Secret whose values are sealed for a controller's key,
// safe to keep in Git.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=sealedsecrets,singular=sealedsecret,scope=Namespaced
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=".status.conditions[0].message"
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=".status.conditions[0].status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type SealedSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SealedSecretSpec `json:"spec"`
	// +optional
	Status *SealedSecretStatus `json:"status,omitempty"`
}

// SealedSecretList is a list of SealedSecrets.
//
// +kubebuilder:object:root=true
type SealedSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SealedSecret `json:"items"`
}
