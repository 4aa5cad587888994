package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Markers on the Secrets an ExternalSecret writes. They are ESO's, so a
// Secret made by ESO is adopted in place and ESO can take ours back.
const (
	// LabelManaged marks a Secret as written by an ExternalSecret; the
	// controller watches only Secrets that carry it.
	LabelManaged      = "reconcile.external-secrets.io/managed"
	LabelManagedValue = "true"
	// LabelCreatedBy holds a hash of the owning ExternalSecret's namespace/name
	// (creationPolicy Owner only), to find Secrets left behind when target.name changes.
	LabelCreatedBy = "reconcile.external-secrets.io/created-by"
	// AnnotationDataHash holds a hash of the Secret's data as last written, so
	// edits made by others are noticed and reverted.
	AnnotationDataHash = "reconcile.external-secrets.io/data-hash"
	// AnnotationForceSync is the conventional annotation users change to ask
	// for an immediate refresh (any annotation change does it).
	AnnotationForceSync = "force-sync"
	// FinalizerExternalSecret lets the controller clean up on deletion.
	FinalizerExternalSecret = "externalsecrets.external-secrets.io/externalsecret-cleanup"
	// FieldManagerPrefix names the field manager used for each ExternalSecret.
	FieldManagerPrefix = "externalsecrets.external-secrets.io/"
)

// SecretStoreRef names the store to read from.
type SecretStoreRef struct {
	// Name of the SecretStore or ClusterSecretStore.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// Kind is SecretStore (when empty) or ClusterSecretStore.
	// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
	// +optional
	Kind string `json:"kind,omitempty"`
}

// Store kinds.
const (
	SecretStoreKind        = "SecretStore"
	ClusterSecretStoreKind = "ClusterSecretStore"
)

// ExternalSecretCreationPolicy says how the controller owns the target Secret.
// +kubebuilder:validation:Enum=Owner;Orphan;Merge;None;CreateOrMerge
type ExternalSecretCreationPolicy string

const (
	// CreatePolicyOwner creates the Secret with a controller owner reference.
	CreatePolicyOwner ExternalSecretCreationPolicy = "Owner"
	// CreatePolicyOrphan creates or updates the Secret without an owner reference.
	CreatePolicyOrphan ExternalSecretCreationPolicy = "Orphan"
	// CreatePolicyMerge only patches an existing Secret.
	CreatePolicyMerge ExternalSecretCreationPolicy = "Merge"
	// CreatePolicyNone writes nothing.
	CreatePolicyNone ExternalSecretCreationPolicy = "None"
	// CreatePolicyCreateOrMerge creates the Secret when missing, else merges into it.
	CreatePolicyCreateOrMerge ExternalSecretCreationPolicy = "CreateOrMerge"
)

// ExternalSecretDeletionPolicy says what happens when remote data disappears.
// +kubebuilder:validation:Enum=Delete;Merge;Retain
type ExternalSecretDeletionPolicy string

const (
	// DeletionPolicyDelete deletes the Secret once all its remote data is gone.
	DeletionPolicyDelete ExternalSecretDeletionPolicy = "Delete"
	// DeletionPolicyMerge drops the missing keys and keeps the Secret.
	DeletionPolicyMerge ExternalSecretDeletionPolicy = "Merge"
	// DeletionPolicyRetain treats a missing remote key as an error and keeps the Secret.
	DeletionPolicyRetain ExternalSecretDeletionPolicy = "Retain"
)

// ExternalSecretRefreshPolicy says when the controller reads the store again.
// +kubebuilder:validation:Enum=CreatedOnce;Periodic;OnChange
type ExternalSecretRefreshPolicy string

const (
	RefreshPolicyCreatedOnce ExternalSecretRefreshPolicy = "CreatedOnce"
	RefreshPolicyPeriodic    ExternalSecretRefreshPolicy = "Periodic"
	RefreshPolicyOnChange    ExternalSecretRefreshPolicy = "OnChange"
)

// ExternalSecretTemplateMetadata is the metadata put on the target Secret.
type ExternalSecretTemplateMetadata struct {
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Finalizers []string `json:"finalizers,omitempty"`
}

// TemplateEngineVersion is the template engine; only v2 exists.
type TemplateEngineVersion string

// TemplateEngineV2 is the only engine: Go text/template with Sprig functions.
const TemplateEngineV2 TemplateEngineVersion = "v2"

// TemplateMergePolicy says whether fetched data joins the rendered data.
// +kubebuilder:validation:Enum=Replace;Merge
type TemplateMergePolicy string

const (
	MergePolicyReplace TemplateMergePolicy = "Replace"
	MergePolicyMerge   TemplateMergePolicy = "Merge"
)

// ExternalSecretTemplate is a blueprint for the target Secret.
type ExternalSecretTemplate struct {
	// Type of the Secret.
	// +optional
	Type corev1.SecretType `json:"type,omitempty"`

	// EngineVersion must be v2 (the v1 engine was removed from ESO in 0.16).
	// +kubebuilder:validation:XValidation:rule="self == 'v2'",message="engineVersion: only v2 is supported; the v1 template engine was removed, rewrite the templates for v2 (Go text/template with Sprig)"
	// +optional
	EngineVersion TemplateEngineVersion `json:"engineVersion,omitempty"`

	// Metadata for the Secret; replaces the labels and annotations copied
	// from the ExternalSecret.
	// +optional
	Metadata ExternalSecretTemplateMetadata `json:"metadata,omitempty"`

	// MergePolicy Merge keeps fetched data next to rendered data; Replace
	// (the default) keeps only rendered data when data templates exist.
	// +optional
	MergePolicy TemplateMergePolicy `json:"mergePolicy,omitempty"`

	// Data maps Secret keys to templates.
	// +optional
	Data map[string]string `json:"data,omitempty"`

	// TemplateFrom reads templates from ConfigMaps, Secrets or literals.
	// +optional
	TemplateFrom []TemplateFrom `json:"templateFrom,omitempty"`
}

// TemplateScope says what a templateFrom item renders.
// +kubebuilder:validation:Enum=Values;KeysAndValues
type TemplateScope string

const (
	TemplateScopeValues        TemplateScope = "Values"
	TemplateScopeKeysAndValues TemplateScope = "KeysAndValues"
)

// TemplateTarget is where templateFrom output goes: Data, Annotations or Labels.
type TemplateTarget string

const (
	TemplateTargetData        TemplateTarget = "Data"
	TemplateTargetAnnotations TemplateTarget = "Annotations"
	TemplateTargetLabels      TemplateTarget = "Labels"
)

// TemplateFrom is one source of templates.
// +kubebuilder:validation:XValidation:rule="(has(self.configMap) ? 1 : 0) + (has(self.secret) ? 1 : 0) + (has(self.literal) ? 1 : 0) <= 1",message="templateFrom: set only one of configMap, secret and literal"
type TemplateFrom struct {
	// +optional
	ConfigMap *TemplateRef `json:"configMap,omitempty"`
	// +optional
	Secret *TemplateRef `json:"secret,omitempty"`
	// Target is Data (default), Annotations or Labels.
	// +optional
	Target TemplateTarget `json:"target,omitempty"`
	// +optional
	Literal *string `json:"literal,omitempty"`
	// ValuesDecodingStrategy decodes the fetched values before templating.
	// +optional
	ValuesDecodingStrategy ExternalSecretDecodingStrategy `json:"valuesDecodingStrategy,omitempty"`
}

// TemplateRef names a ConfigMap or Secret holding templates.
type TemplateRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	Items []TemplateRefItem `json:"items,omitempty"`
}

// TemplateRefItem is one key of a template ConfigMap or Secret.
type TemplateRefItem struct {
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// +optional
	TemplateAs TemplateScope `json:"templateAs,omitempty"`
}

// ManifestReference names a non-Secret kind to render into. Keyward writes
// Secrets only and reports such ExternalSecrets as unsupported.
type ManifestReference struct {
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
}

// ExternalSecretTarget describes the Secret to write.
// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy) || self.deletionPolicy != 'Delete' || !has(self.creationPolicy) || self.creationPolicy == 'Owner'",message="target.deletionPolicy: Delete needs target.creationPolicy Owner, since only a Secret the ExternalSecret owns may be deleted"
// +kubebuilder:validation:XValidation:rule="!has(self.deletionPolicy) || self.deletionPolicy != 'Merge' || !has(self.creationPolicy) || self.creationPolicy != 'None'",message="target.deletionPolicy: Merge cannot be used with target.creationPolicy None, which writes nothing"
type ExternalSecretTarget struct {
	// Name of the Secret; the ExternalSecret's name when empty.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// CreationPolicy: Owner (default), Orphan, Merge, None or CreateOrMerge.
	// +optional
	CreationPolicy ExternalSecretCreationPolicy `json:"creationPolicy,omitempty"`
	// DeletionPolicy: Retain (default), Delete or Merge.
	// +optional
	DeletionPolicy ExternalSecretDeletionPolicy `json:"deletionPolicy,omitempty"`
	// +optional
	Template *ExternalSecretTemplate `json:"template,omitempty"`
	// +optional
	Manifest *ManifestReference `json:"manifest,omitempty"`
	// Immutable makes the Secret immutable.
	// +optional
	Immutable bool `json:"immutable,omitempty"`
}

// ExternalSecretConversionStrategy rewrites key names.
// +kubebuilder:validation:Enum=Default;Unicode
type ExternalSecretConversionStrategy string

const (
	ConversionStrategyDefault ExternalSecretConversionStrategy = "Default"
	ConversionStrategyUnicode ExternalSecretConversionStrategy = "Unicode"
)

// ExternalSecretDecodingStrategy decodes fetched values.
// +kubebuilder:validation:Enum=Auto;Base64;Base64URL;None
type ExternalSecretDecodingStrategy string

const (
	DecodingStrategyAuto      ExternalSecretDecodingStrategy = "Auto"
	DecodingStrategyBase64    ExternalSecretDecodingStrategy = "Base64"
	DecodingStrategyBase64URL ExternalSecretDecodingStrategy = "Base64URL"
	DecodingStrategyNone      ExternalSecretDecodingStrategy = "None"
)

// ExternalSecretMetadataPolicy says whether to fetch the remote secret's metadata.
// +kubebuilder:validation:Enum=None;Fetch
type ExternalSecretMetadataPolicy string

const (
	MetadataPolicyNone  ExternalSecretMetadataPolicy = "None"
	MetadataPolicyFetch ExternalSecretMetadataPolicy = "Fetch"
)

// ExternalSecretNullBytePolicy says what a NUL byte in a value does.
// +kubebuilder:validation:Enum=Ignore;Fail
type ExternalSecretNullBytePolicy string

const (
	NullBytePolicyIgnore ExternalSecretNullBytePolicy = "Ignore"
	NullBytePolicyFail   ExternalSecretNullBytePolicy = "Fail"
)

// ExternalSecretDataRemoteRef points at one remote secret.
type ExternalSecretDataRemoteRef struct {
	// Key of the remote secret.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// +optional
	MetadataPolicy ExternalSecretMetadataPolicy `json:"metadataPolicy,omitempty"`
	// Property picks one field of a structured remote secret.
	// +optional
	Property string `json:"property,omitempty"`
	// Version of the remote secret.
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	ConversionStrategy ExternalSecretConversionStrategy `json:"conversionStrategy,omitempty"`
	// +optional
	DecodingStrategy ExternalSecretDecodingStrategy `json:"decodingStrategy,omitempty"`
	// +optional
	NullBytePolicy ExternalSecretNullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// GeneratorRef points at a generator (generators.external-secrets.io):
// Password, UUID, Fake, VaultDynamicSecret or ClusterGenerator.
type GeneratorRef struct {
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// StoreSourceRef overrides the store for one data entry.
type StoreSourceRef struct {
	// +optional
	SecretStoreRef SecretStoreRef `json:"storeRef,omitempty"`
	// Deprecated upstream; not supported by Keyward.
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// StoreGeneratorSourceRef overrides the store (or names a generator) for one dataFrom entry.
type StoreGeneratorSourceRef struct {
	// +optional
	SecretStoreRef *SecretStoreRef `json:"storeRef,omitempty"`
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// ExternalSecretData maps one remote value to one Secret key.
type ExternalSecretData struct {
	// SecretKey is the key in the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	SecretKey string                      `json:"secretKey"`
	RemoteRef ExternalSecretDataRemoteRef `json:"remoteRef"`
	// +optional
	SourceRef *StoreSourceRef `json:"sourceRef,omitempty"`
}

// FindName matches remote secret names.
type FindName struct {
	// RegExp is a Go regular expression.
	// +optional
	RegExp string `json:"regexp,omitempty"`
}

// ExternalSecretFind selects many remote secrets.
type ExternalSecretFind struct {
	// Path is a prefix to search under.
	// +optional
	Path *string `json:"path,omitempty"`
	// +optional
	Name *FindName `json:"name,omitempty"`
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
	// +optional
	ConversionStrategy ExternalSecretConversionStrategy `json:"conversionStrategy,omitempty"`
	// +optional
	DecodingStrategy ExternalSecretDecodingStrategy `json:"decodingStrategy,omitempty"`
	// +optional
	NullBytePolicy ExternalSecretNullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// ExternalSecretRewrite renames keys of a dataFrom result; exactly one field is set.
// +kubebuilder:validation:XValidation:rule="(has(self.merge) ? 1 : 0) + (has(self.regexp) ? 1 : 0) + (has(self.transform) ? 1 : 0) <= 1",message="rewrite: set only one of merge, regexp and transform"
type ExternalSecretRewrite struct {
	// +optional
	Merge *ExternalSecretRewriteMerge `json:"merge,omitempty"`
	// +optional
	Regexp *ExternalSecretRewriteRegexp `json:"regexp,omitempty"`
	// +optional
	Transform *ExternalSecretRewriteTransform `json:"transform,omitempty"`
}

// ExternalSecretRewriteRegexp replaces regular-expression matches in key names.
type ExternalSecretRewriteRegexp struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// ExternalSecretRewriteTransform renders each key name through a template (.value).
type ExternalSecretRewriteTransform struct {
	Template string `json:"template"`
}

// ExternalSecretRewriteMerge merges JSON values of several keys into one.
type ExternalSecretRewriteMerge struct {
	// +optional
	Into string `json:"into,omitempty"`
	// +optional
	Priority []string `json:"priority,omitempty"`
	// +kubebuilder:validation:Enum=Strict;IgnoreNotFound
	// +optional
	PriorityPolicy string `json:"priorityPolicy,omitempty"`
	// +kubebuilder:validation:Enum=Ignore;Error
	// +optional
	ConflictPolicy string `json:"conflictPolicy,omitempty"`
	// +kubebuilder:validation:Enum=Extract;JSON
	// +optional
	Strategy string `json:"strategy,omitempty"`
}

// ExternalSecretDataFromRemoteRef fetches many keys at once.
// +kubebuilder:validation:XValidation:rule="(has(self.extract) ? 1 : 0) + (has(self.find) ? 1 : 0) + (has(self.sourceRef) && has(self.sourceRef.generatorRef) ? 1 : 0) <= 1",message="dataFrom: set only one of extract, find and sourceRef.generatorRef"
type ExternalSecretDataFromRemoteRef struct {
	// +optional
	Extract *ExternalSecretDataRemoteRef `json:"extract,omitempty"`
	// +optional
	Find *ExternalSecretFind `json:"find,omitempty"`
	// +optional
	Rewrite []ExternalSecretRewrite `json:"rewrite,omitempty"`
	// +optional
	SourceRef *StoreGeneratorSourceRef `json:"sourceRef,omitempty"`
}

// SyncWindows gates periodic refreshes by time of day.
type SyncWindows struct {
	// +kubebuilder:validation:Enum=allow;deny
	Kind string `json:"kind"`
	// +optional
	Windows []SyncWindow `json:"windows,omitempty"`
}

// SyncWindow opens at each schedule tick (5-field cron, UTC) for duration.
type SyncWindow struct {
	Schedule string `json:"schedule"`
	// +kubebuilder:validation:Type=string
	Duration metav1.Duration `json:"duration"`
}

// ExternalSecretSpec defines the Secret to write and where its data comes from.
// +kubebuilder:validation:XValidation:rule="(has(self.data) && size(self.data) > 0) || (has(self.dataFrom) && size(self.dataFrom) > 0)",message="spec: set data or dataFrom (or both)"
type ExternalSecretSpec struct {
	// SecretStoreRef is the default store for data and dataFrom.
	// +optional
	SecretStoreRef SecretStoreRef `json:"secretStoreRef,omitempty"`

	// +optional
	Target ExternalSecretTarget `json:"target,omitempty"`

	// RefreshPolicy: Periodic (default), CreatedOnce or OnChange.
	// +optional
	RefreshPolicy ExternalSecretRefreshPolicy `json:"refreshPolicy,omitempty"`

	// RefreshInterval between reads (Go duration; 1h when unset; 0 reads once).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || self == '0'",message="refreshInterval: must be a Go duration such as 1h, 15m or 30s"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// SyncWindows restrict when periodic refreshes happen.
	// +optional
	SyncWindows *SyncWindows `json:"syncWindows,omitempty"`

	// Data maps remote values to Secret keys.
	// +listType=map
	// +listMapKey=secretKey
	// +optional
	Data []ExternalSecretData `json:"data,omitempty"`

	// DataFrom fetches many keys; entries merge in order, then data wins.
	// +optional
	DataFrom []ExternalSecretDataFromRemoteRef `json:"dataFrom,omitempty"`
}

// ExternalSecretConditionType is a status condition type.
type ExternalSecretConditionType string

const (
	ExternalSecretReady   ExternalSecretConditionType = "Ready"
	ExternalSecretDeleted ExternalSecretConditionType = "Deleted"
)

// Condition reasons and event reasons, as ESO names them.
const (
	ReasonSecretSynced      = "SecretSynced"
	ReasonSecretSyncedError = "SecretSyncedError"
	ReasonSecretDeleted     = "SecretDeleted"
	ReasonSecretMissing     = "SecretMissing"

	EventReasonCreated               = "Created"
	EventReasonUpdated               = "Updated"
	EventReasonDeleted               = "Deleted"
	EventReasonMissingProviderSecret = "MissingProviderSecret"
	EventReasonUpdateFailed          = "UpdateFailed"
)

// ExternalSecretStatusCondition is ESO's condition shape (reason and time optional).
type ExternalSecretStatusCondition struct {
	Type   ExternalSecretConditionType `json:"type"`
	Status corev1.ConditionStatus      `json:"status"`
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// ExternalSecretStatus is the observed state.
type ExternalSecretStatus struct {
	// RefreshTime is when the last successful sync started.
	// +nullable
	// +optional
	RefreshTime metav1.Time `json:"refreshTime,omitempty"`
	// SyncedResourceVersion is "<generation>-<hash of labels and annotations>"
	// of the ExternalSecret at the last successful sync.
	// +optional
	SyncedResourceVersion string `json:"syncedResourceVersion,omitempty"`
	// +optional
	Conditions []ExternalSecretStatusCondition `json:"conditions,omitempty"`
	// Binding names the Secret, for servicebinding.io.
	// +optional
	Binding SecretBinding `json:"binding,omitempty"`
	// ValueChangedTime is when the target Secret's data last changed (a
	// sync that brings the same values keeps it). Keyward's; ESO does not
	// set it.
	// +optional
	ValueChangedTime *metav1.Time `json:"valueChangedTime,omitempty"`
	// NextRefreshTime is when the next periodic sync is due (Keyward's).
	// +optional
	NextRefreshTime *metav1.Time `json:"nextRefreshTime,omitempty"`
}

// SecretBinding names the written Secret.
type SecretBinding struct {
	// +optional
	Name string `json:"name,omitempty"`
}

// ExternalSecret writes a Secret from values held in an external store.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,categories={external-secrets},shortName=es
// +kubebuilder:printcolumn:name="StoreType",type=string,JSONPath=`.spec.secretStoreRef.kind`
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshInterval`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.refreshTime`
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExternalSecretSpec   `json:"spec,omitempty"`
	Status ExternalSecretStatus `json:"status,omitempty"`
}

// ExternalSecretList is a list of ExternalSecrets.
// +kubebuilder:object:root=true
type ExternalSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExternalSecret `json:"items"`
}
