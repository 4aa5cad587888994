// Code generated from ../v1 by TestSameSchemaAsV1 -update. DO NOT EDIT.

package v1beta1

// Provider configurations, field-compatible with ESO's. Every provider here
// is served: vault, aws, gcpsm, azurekv, kubernetes and fake. Others ESO
// knows are kept in SecretStoreProvider.Unsupported, so their stores apply
// unchanged and report in their status that the provider is not served.

// VaultProvider configures HashiCorp Vault (or OpenBao).
type VaultProvider struct {
	// Server is the Vault address, for example https://vault.example.com:8200.
	Server string `json:"server"`
	// Path is the KV mount.
	// +optional
	Path *string `json:"path,omitempty"`
	// Version of the KV engine: v1 or v2 (default).
	// +kubebuilder:validation:Enum=v1;v2
	// +optional
	Version string `json:"version,omitempty"`
	// Namespace is the Vault Enterprise namespace.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// CABundle is a base64 PEM bundle to trust.
	// +optional
	CABundle string `json:"caBundle,omitempty"`
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
	// +optional
	TLS VaultClientTLS `json:"tls,omitempty"`
	// +optional
	ReadYourWrites bool `json:"readYourWrites,omitempty"`
	// +optional
	ForwardInconsistent bool `json:"forwardInconsistent,omitempty"`
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// +optional
	CheckAndSet *VaultCheckAndSet `json:"checkAndSet,omitempty"`
	// +optional
	Auth *VaultAuth `json:"auth,omitempty"`
}

// VaultClientTLS is the client certificate for mutual TLS.
type VaultClientTLS struct {
	// +optional
	CertSecretRef *SecretKeySelector `json:"certSecretRef,omitempty"`
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// VaultCheckAndSet requires check-and-set on KV v2 writes.
type VaultCheckAndSet struct {
	// +optional
	Required bool `json:"required,omitempty"`
}

// VaultAuth holds one Vault auth method.
type VaultAuth struct {
	// Namespace to log in to, when it differs from the secrets namespace.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`
	// +optional
	AppRole *VaultAppRole `json:"appRole,omitempty"`
	// +optional
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`
	// +optional
	Ldap *VaultLdapAuth `json:"ldap,omitempty"`
	// +optional
	UserPass *VaultUserPassAuth `json:"userPass,omitempty"`
	// +optional
	Jwt *VaultJwtAuth `json:"jwt,omitempty"`
	// +optional
	Cert *VaultCertAuth `json:"cert,omitempty"`
	// +optional
	Iam *VaultIamAuth `json:"iam,omitempty"`
	// +optional
	GCP *VaultGCPAuth `json:"gcp,omitempty"`
}

// VaultAppRole logs in with a role ID and secret ID.
type VaultAppRole struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	RoleID string `json:"roleId,omitempty"`
	// +optional
	RoleRef   *SecretKeySelector `json:"roleRef,omitempty"`
	SecretRef SecretKeySelector  `json:"secretRef"`
}

// VaultKubernetesAuth logs in with a ServiceAccount token.
type VaultKubernetesAuth struct {
	// +optional
	Path string `json:"mountPath,omitempty"`
	Role string `json:"role"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultLdapAuth logs in with LDAP credentials.
type VaultLdapAuth struct {
	// +optional
	Path     string `json:"path,omitempty"`
	Username string `json:"username"`
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultUserPassAuth logs in with a username and password.
type VaultUserPassAuth struct {
	// +optional
	Path     string `json:"path,omitempty"`
	Username string `json:"username"`
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultJwtAuth logs in with a JWT from a Secret or a ServiceAccount token.
type VaultJwtAuth struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Role string `json:"role,omitempty"`
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
	// +optional
	KubernetesServiceAccountToken *VaultKubernetesServiceAccountTokenAuth `json:"kubernetesServiceAccountToken,omitempty"`
}

// VaultKubernetesServiceAccountTokenAuth requests a token for a ServiceAccount.
type VaultKubernetesServiceAccountTokenAuth struct {
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// +optional
	Audiences *[]string `json:"audiences,omitempty"`
	// +optional
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
}

// VaultCertAuth logs in with a TLS client certificate.
type VaultCertAuth struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	ClientCert SecretKeySelector `json:"clientCert,omitempty"`
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultIamAuth logs in with AWS IAM.
type VaultIamAuth struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Region string `json:"region,omitempty"`
	// +optional
	AWSIAMRole string `json:"role,omitempty"`
	VaultRole  string `json:"vaultRole"`
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// +optional
	VaultAWSIAMServerID string `json:"vaultAwsIamServerID,omitempty"`
	// +optional
	SecretRef *AWSSecretRef `json:"secretRef,omitempty"`
	// +optional
	JWTAuth *AWSJWTAuth `json:"jwt,omitempty"`
}

// VaultGCPAuth logs in with GCP credentials.
type VaultGCPAuth struct {
	// +optional
	Path string `json:"path,omitempty"`
	Role string `json:"role"`
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// +optional
	Location string `json:"location,omitempty"`
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// AWSProvider configures AWS Secrets Manager, Parameter Store or Certificate Manager.
type AWSProvider struct {
	// +kubebuilder:validation:Enum=SecretsManager;ParameterStore;CertificateManager
	Service string `json:"service"`
	// +optional
	Region string `json:"region,omitempty"`
	// Role ARN to assume.
	// +optional
	Role string `json:"role,omitempty"`
	// AdditionalRoles are assumed in order, as a chain, before Role.
	// +optional
	AdditionalRoles []string `json:"additionalRoles,omitempty"`
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// +optional
	SessionTags []*AWSTag `json:"sessionTags,omitempty"`
	// +optional
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	// +optional
	SessionTagsPolicy string `json:"sessionTagsPolicy,omitempty"`
	// Prefix is prepended to every key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	SecretsManager *AWSSecretsManager `json:"secretsManager,omitempty"`
	// +optional
	Auth AWSAuth `json:"auth,omitempty"`
}

// AWSTag is a session tag.
type AWSTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AWSSecretsManager tunes Secrets Manager writes and deletes.
type AWSSecretsManager struct {
	// +optional
	ForceDeleteWithoutRecovery bool `json:"forceDeleteWithoutRecovery,omitempty"`
	// +optional
	RecoveryWindowInDays int64 `json:"recoveryWindowInDays,omitempty"`
}

// AWSAuth picks static keys or a ServiceAccount's web identity; neither
// means the SDK default chain (for example IRSA on the controller's pod).
type AWSAuth struct {
	// +optional
	SecretRef *AWSSecretRef `json:"secretRef,omitempty"`
	// +optional
	JWTAuth *AWSJWTAuth `json:"jwt,omitempty"`
}

// AWSSecretRef holds static AWS credentials.
type AWSSecretRef struct {
	// +optional
	AccessKeyID SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// AWSJWTAuth uses a ServiceAccount token for AssumeRoleWithWebIdentity.
type AWSJWTAuth struct {
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// GCPSMProvider configures Google Secret Manager.
type GCPSMProvider struct {
	// +optional
	Auth GCPSMAuth `json:"auth,omitempty"`
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// Location selects regional secrets.
	// +optional
	Location string `json:"location,omitempty"`
	// +kubebuilder:validation:Enum=LatestOrFail;LatestOrFetch
	// +optional
	SecretVersionSelectionPolicy string `json:"secretVersionSelectionPolicy,omitempty"`
}

// GCPSMAuth picks a service-account key, GKE workload identity, or workload
// identity federation; none means application default credentials.
type GCPSMAuth struct {
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// +optional
	WorkloadIdentityFederation *GCPWorkloadIdentityFederation `json:"workloadIdentityFederation,omitempty"`
}

// GCPSMAuthSecretRef holds a service-account key JSON.
type GCPSMAuthSecretRef struct {
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
}

// GCPWorkloadIdentity exchanges a ServiceAccount token through GKE.
type GCPWorkloadIdentity struct {
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// +optional
	ClusterLocation string `json:"clusterLocation,omitempty"`
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// +optional
	ClusterProjectID string `json:"clusterProjectID,omitempty"`
}

// GCPWorkloadIdentityFederation exchanges a token through STS.
type GCPWorkloadIdentityFederation struct {
	// +optional
	CredConfig *ConfigMapReference `json:"credConfig,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// +optional
	AwsSecurityCredentials *AwsCredentialsConfig `json:"awsSecurityCredentials,omitempty"`
	// +optional
	Audience string `json:"audience,omitempty"`
	// +optional
	ExternalTokenEndpoint string `json:"externalTokenEndpoint,omitempty"`
}

// ConfigMapReference points at a key of a ConfigMap.
type ConfigMapReference struct {
	Name string `json:"name"`
	// +optional
	Key string `json:"key,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// AwsCredentialsConfig names AWS credentials for GCP federation.
type AwsCredentialsConfig struct {
	Region                  string          `json:"region"`
	AwsCredentialsSecretRef SecretReference `json:"awsCredentialsSecretRef"`
}

// SecretReference names a Secret.
type SecretReference struct {
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// AzureKVProvider configures Azure Key Vault.
type AzureKVProvider struct {
	// +kubebuilder:validation:Enum=ServicePrincipal;ManagedIdentity;WorkloadIdentity
	// +optional
	AuthType *string `json:"authType,omitempty"`
	VaultURL *string `json:"vaultUrl"`
	// +optional
	TenantID *string `json:"tenantId,omitempty"`
	// +kubebuilder:validation:Enum=PublicCloud;USGovernmentCloud;ChinaCloud;GermanCloud;AzureStackCloud
	// +optional
	EnvironmentType string `json:"environmentType,omitempty"`
	// +optional
	AuthSecretRef *AzureKVAuth `json:"authSecretRef,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// IdentityID of a user-assigned managed identity.
	// +optional
	IdentityID *string `json:"identityId,omitempty"`
}

// AzureKVAuth holds service-principal credentials.
type AzureKVAuth struct {
	// +optional
	ClientID *SecretKeySelector `json:"clientId,omitempty"`
	// +optional
	TenantID *SecretKeySelector `json:"tenantId,omitempty"`
	// +optional
	ClientSecret *SecretKeySelector `json:"clientSecret,omitempty"`
	// +optional
	ClientCertificate *SecretKeySelector `json:"clientCertificate,omitempty"`
}

// KubernetesProvider reads Secrets of another namespace, or of another
// cluster reached by URL. The remote key is a Secret name and the property a
// key of its data.
type KubernetesProvider struct {
	// Server is the API server to use; the controller's own cluster when url is empty.
	// +optional
	Server KubernetesServer `json:"server,omitempty"`
	// Auth picks a client certificate, a bearer token or a ServiceAccount.
	// +optional
	Auth *KubernetesAuth `json:"auth,omitempty"`
	// AuthRef points at a kubeconfig held in a Secret.
	// +optional
	AuthRef *SecretKeySelector `json:"authRef,omitempty"`
	// RemoteNamespace holds the Secrets to read ("default" when empty).
	// +optional
	RemoteNamespace string `json:"remoteNamespace,omitempty"`
}

// KubernetesServer is the remote API server.
type KubernetesServer struct {
	// +optional
	URL string `json:"url,omitempty"`
	// CABundle is a base64 PEM bundle to trust.
	// +optional
	CABundle string `json:"caBundle,omitempty"`
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
}

// KubernetesAuth holds one way to authenticate to the remote API server.
// +kubebuilder:validation:XValidation:rule="(has(self.cert) ? 1 : 0) + (has(self.token) ? 1 : 0) + (has(self.serviceAccount) ? 1 : 0) <= 1",message="auth: set only one of cert, token and serviceAccount"
type KubernetesAuth struct {
	// +optional
	Cert *CertAuth `json:"cert,omitempty"`
	// +optional
	Token *TokenAuth `json:"token,omitempty"`
	// +optional
	ServiceAccount *ServiceAccountSelector `json:"serviceAccount,omitempty"`
}

// CertAuth is a client certificate and key held in Secrets.
type CertAuth struct {
	// +optional
	ClientCert SecretKeySelector `json:"clientCert,omitempty"`
	// +optional
	ClientKey SecretKeySelector `json:"clientKey,omitempty"`
}

// TokenAuth is a bearer token held in a Secret.
type TokenAuth struct {
	// +optional
	BearerToken SecretKeySelector `json:"bearerToken,omitempty"`
}

// FakeProvider serves fixed values, for tests and demos. Property is a
// JSON path into the value.
type FakeProvider struct {
	// +optional
	Data []FakeProviderData `json:"data,omitempty"`
	// ValidationResult forces the store's validation outcome: Ready, Unknown or Error.
	// +optional
	ValidationResult *string `json:"validationResult,omitempty"`
}

// FakeProviderData is one fixed value.
type FakeProviderData struct {
	Key string `json:"key"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
}
