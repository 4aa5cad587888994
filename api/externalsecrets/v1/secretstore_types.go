package v1

import (
	"encoding/json"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SecretKeySelector points at one key of a Secret. Namespace is honoured
// only for ClusterSecretStores.
type SecretKeySelector struct {
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// ServiceAccountSelector points at a ServiceAccount. Namespace is honoured
// only for ClusterSecretStores.
type ServiceAccountSelector struct {
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// Audiences for the token requested for this ServiceAccount.
	// +optional
	Audiences []string `json:"audiences,omitempty"`
}

// CAProvider reads a CA bundle from a Secret or ConfigMap.
type CAProvider struct {
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	Type string `json:"type"`
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	Key string `json:"key,omitempty"`
	// +optional
	Namespace *string `json:"namespace,omitempty"`
}

// SecretStoreRetrySettings tune provider SDK retries.
type SecretStoreRetrySettings struct {
	// +optional
	MaxRetries *int32 `json:"maxRetries,omitempty"`
	// +optional
	RetryInterval *string `json:"retryInterval,omitempty"`
}

// ClusterSecretStoreCondition limits which namespaces may use a
// ClusterSecretStore; a namespace matching any one condition may.
type ClusterSecretStoreCondition struct {
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceRegexes are Go regular expressions matched against the namespace name.
	// +optional
	NamespaceRegexes []string `json:"namespaceRegexes,omitempty"`
}

// SecretStoreSpec configures a store.
type SecretStoreSpec struct {
	// Controller is the class of controller that serves this store; empty
	// means the default class.
	// +optional
	Controller string `json:"controller,omitempty"`

	// Provider holds exactly one provider's configuration.
	Provider *SecretStoreProvider `json:"provider"`

	// +optional
	RetrySettings *SecretStoreRetrySettings `json:"retrySettings,omitempty"`

	// RefreshInterval for re-validating the store: seconds, or a Go duration.
	// +optional
	RefreshInterval *intstr.IntOrString `json:"refreshInterval,omitempty"`

	// Conditions (ClusterSecretStore only) limit which namespaces may use it.
	// +optional
	Conditions []ClusterSecretStoreCondition `json:"conditions,omitempty"`
}

// SecretStoreProvider holds one provider's configuration. Fields for
// providers Keyward does not serve are kept (not pruned), so the store can
// say which provider is unsupported instead of silently losing it.
// +kubebuilder:pruning:PreserveUnknownFields
type SecretStoreProvider struct {
	// +optional
	Vault *VaultProvider `json:"vault,omitempty"`
	// +optional
	AWS *AWSProvider `json:"aws,omitempty"`
	// +optional
	GCPSM *GCPSMProvider `json:"gcpsm,omitempty"`
	// +optional
	AzureKV *AzureKVProvider `json:"azurekv,omitempty"`
	// +optional
	Kubernetes *KubernetesProvider `json:"kubernetes,omitempty"`
	// +optional
	Fake *FakeProvider `json:"fake,omitempty"`

	// Unsupported lists provider keys found in the manifest that Keyward
	// does not serve (for example doppler).
	Unsupported []string `json:"-"`
}

// knownProviders are the keys SecretStoreProvider decodes.
var knownProviders = map[string]bool{"vault": true, "aws": true, "gcpsm": true, "azurekv": true, "kubernetes": true, "fake": true}

// UnmarshalJSON decodes the known providers and records the other keys.
func (p *SecretStoreProvider) UnmarshalJSON(data []byte) error {
	type plain SecretStoreProvider
	var known plain
	if err := json.Unmarshal(data, &known); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k := range all {
		if !knownProviders[k] {
			known.Unsupported = append(known.Unsupported, k)
		}
	}
	sort.Strings(known.Unsupported)
	*p = SecretStoreProvider(known)
	return nil
}

// Names returns the configured provider keys, served and unsupported, sorted.
func (p *SecretStoreProvider) Names() []string {
	if p == nil {
		return nil
	}
	var names []string
	for name, set := range map[string]bool{
		"vault": p.Vault != nil, "aws": p.AWS != nil, "gcpsm": p.GCPSM != nil,
		"azurekv": p.AzureKV != nil, "kubernetes": p.Kubernetes != nil, "fake": p.Fake != nil,
	} {
		if set {
			names = append(names, name)
		}
	}
	names = append(names, p.Unsupported...)
	sort.Strings(names)
	return names
}

// SecretStoreConditionType is a store condition type.
type SecretStoreConditionType string

// SecretStoreReady is the store's only condition.
const SecretStoreReady SecretStoreConditionType = "Ready"

// Store condition reasons, as ESO names them.
const (
	ReasonStoreValid             = "Valid"
	ReasonInvalidStoreConfig     = "InvalidStoreConfiguration"
	ReasonInvalidProviderConfig  = "InvalidProviderConfig"
	ReasonStoreValidationFailed  = "ValidationFailed"
	ReasonStoreValidationUnknown = "ValidationUnknown"
)

// SecretStoreStatusCondition is ESO's condition shape.
type SecretStoreStatusCondition struct {
	Type   SecretStoreConditionType `json:"type"`
	Status corev1.ConditionStatus   `json:"status"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// SecretStoreCapabilities says whether a store can be read, written or both.
type SecretStoreCapabilities string

const (
	SecretStoreReadOnly  SecretStoreCapabilities = "ReadOnly"
	SecretStoreWriteOnly SecretStoreCapabilities = "WriteOnly"
	SecretStoreReadWrite SecretStoreCapabilities = "ReadWrite"
)

// SecretStoreStatus is the observed state of a store.
type SecretStoreStatus struct {
	// +optional
	Conditions []SecretStoreStatusCondition `json:"conditions,omitempty"`
	// +optional
	Capabilities SecretStoreCapabilities `json:"capabilities,omitempty"`
}

// SecretStore is a store usable from its own namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets},shortName=ss
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type SecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SecretStoreSpec   `json:"spec,omitempty"`
	Status SecretStoreStatus `json:"status,omitempty"`
}

// SecretStoreList is a list of SecretStores.
// +kubebuilder:object:root=true
type SecretStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecretStore `json:"items"`
}

// ClusterSecretStore is a store usable from any namespace its conditions allow.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Cluster,categories={external-secrets},shortName=css
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterSecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SecretStoreSpec   `json:"spec,omitempty"`
	Status SecretStoreStatus `json:"status,omitempty"`
}

// ClusterSecretStoreList is a list of ClusterSecretStores.
// +kubebuilder:object:root=true
type ClusterSecretStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSecretStore `json:"items"`
}

// GenericStore is what SecretStore and ClusterSecretStore have in common.
// +kubebuilder:object:generate=false
type GenericStore interface {
	metav1.Object
	runtime.Object
	GetKind() string
	GetSpec() *SecretStoreSpec
	GetStatus() *SecretStoreStatus
}

func (s *SecretStore) GetKind() string                      { return SecretStoreKind }
func (s *SecretStore) GetSpec() *SecretStoreSpec            { return &s.Spec }
func (s *SecretStore) GetStatus() *SecretStoreStatus        { return &s.Status }
func (s *ClusterSecretStore) GetKind() string               { return ClusterSecretStoreKind }
func (s *ClusterSecretStore) GetSpec() *SecretStoreSpec     { return &s.Spec }
func (s *ClusterSecretStore) GetStatus() *SecretStoreStatus { return &s.Status }
