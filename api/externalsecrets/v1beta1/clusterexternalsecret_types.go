// Code generated from ../v1 by TestSameSchemaAsV1 -update. DO NOT EDIT.

package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExternalSecretMetadata is the metadata given to each ExternalSecret a
// ClusterExternalSecret makes.
type ExternalSecretMetadata struct {
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// ClusterExternalSecretSpec makes one ExternalSecret in every matching namespace.
type ClusterExternalSecretSpec struct {
	// ExternalSecretSpec is the spec of each ExternalSecret.
	ExternalSecretSpec ExternalSecretSpec `json:"externalSecretSpec"`

	// ExternalSecretName names each ExternalSecret; the ClusterExternalSecret's name when empty.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ExternalSecretName string `json:"externalSecretName,omitempty"`

	// +optional
	ExternalSecretMetadata ExternalSecretMetadata `json:"externalSecretMetadata,omitempty"`

	// NamespaceSelector is deprecated: use namespaceSelectors.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// NamespaceSelectors: a namespace matching any of them gets an ExternalSecret.
	// +optional
	NamespaceSelectors []*metav1.LabelSelector `json:"namespaceSelectors,omitempty"`

	// Namespaces lists namespaces by name, in addition to the selectors.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// RefreshInterval between re-scans of the namespaces (1m when unset).
	// +kubebuilder:validation:Type=string
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshTime,omitempty"`
}

// ClusterExternalSecretNamespaceFailure says why one namespace failed.
type ClusterExternalSecretNamespaceFailure struct {
	Namespace string `json:"namespace"`
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ClusterExternalSecretConditionType is a status condition type.
type ClusterExternalSecretConditionType string

// ClusterExternalSecretReady is the only condition.
const ClusterExternalSecretReady ClusterExternalSecretConditionType = "Ready"

// ClusterExternalSecretStatusCondition is ESO's condition shape.
type ClusterExternalSecretStatusCondition struct {
	Type   ClusterExternalSecretConditionType `json:"type"`
	Status corev1.ConditionStatus             `json:"status"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// ClusterExternalSecretStatus is the observed state.
type ClusterExternalSecretStatus struct {
	// +optional
	ExternalSecretName string `json:"externalSecretName,omitempty"`
	// +optional
	FailedNamespaces []ClusterExternalSecretNamespaceFailure `json:"failedNamespaces,omitempty"`
	// +optional
	ProvisionedNamespaces []string `json:"provisionedNamespaces,omitempty"`
	// +optional
	Conditions []ClusterExternalSecretStatusCondition `json:"conditions,omitempty"`
}

// ClusterExternalSecret fans one ExternalSecret spec out across namespaces.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={external-secrets},shortName=ces
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.externalSecretSpec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterExternalSecretSpec   `json:"spec,omitempty"`
	Status ClusterExternalSecretStatus `json:"status,omitempty"`
}

// ClusterExternalSecretList is a list of ClusterExternalSecrets.
// +kubebuilder:object:root=true
type ClusterExternalSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterExternalSecret `json:"items"`
}
