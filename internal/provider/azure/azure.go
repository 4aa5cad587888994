// Package azure is the store provider for Azure Key Vault secrets
// (spec.provider.azurekv). One credential and one Key Vault client are
// built per store and kept: the credential caches its Entra ID token and
// renews it before expiry, and Key Vault's challenge is answered once.
// Auth: a service principal (client secret or certificate from a Secret),
// the pod's managed identity, or workload identity (a TokenRequest token
// for a ServiceAccount presented as a federated client assertion).
package azure

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

const (
	field = "spec.provider.azurekv"
	// Workload identity annotations on a ServiceAccount (azure-workload-identity).
	clientIDAnnotation = "azure.workload.identity/client-id"
	tenantIDAnnotation = "azure.workload.identity/tenant-id"
	// federatedAudience is what Entra ID expects in a federated token.
	federatedAudience = "api://AzureADTokenExchange"
)

// Provider builds clients for spec.provider.azurekv.
type Provider struct {
	// Transport replaces the HTTP transport of the credential and the Key
	// Vault client (tests route it to a loopback stand-in).
	Transport policy.Transporter
}

// New returns the provider.
func New() *Provider { return &Provider{} }

// Name implements provider.Provider.
func (*Provider) Name() string { return "azurekv" }

// Referent implements provider.Provider.
func (*Provider) Referent(spec *esv1.SecretStoreSpec) bool {
	a := spec.Provider.AzureKV
	if a == nil {
		return false
	}
	unset := func(ns *string) bool { return ns == nil || *ns == "" }
	if r := a.AuthSecretRef; r != nil {
		for _, s := range []*esv1.SecretKeySelector{r.ClientID, r.TenantID, r.ClientSecret, r.ClientCertificate} {
			if s != nil && unset(s.Namespace) {
				return true
			}
		}
	}
	return a.ServiceAccountRef != nil && unset(a.ServiceAccountRef.Namespace)
}

// AmbientIdentity implements provider.AmbientIdentity: authType
// ManagedIdentity is the controller's pod (or node) identity.
func (*Provider) AmbientIdentity(spec *esv1.SecretStoreSpec) (string, string) {
	a := spec.Provider.AzureKV
	if a == nil || a.AuthType == nil || *a.AuthType != "ManagedIdentity" {
		return "", ""
	}
	return field + ".authType", "ServicePrincipal with authSecretRef, or WorkloadIdentity with a serviceAccountRef of the store's namespace"
}

// NewClient implements provider.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube provider.Kube, namespace string) (provider.Client, error) {
	spec := store.GetSpec().Provider.AzureKV
	if spec == nil {
		return nil, errors.New(field + " is not set")
	}
	if spec.VaultURL == nil || *spec.VaultURL == "" {
		return nil, fmt.Errorf("%s.vaultUrl: required", field)
	}
	retry, err := provider.RetrySettings(store.GetSpec())
	if err != nil {
		return nil, err
	}
	opts, err := p.clientOptions(spec, retry)
	if err != nil {
		return nil, err
	}
	c := &Client{vault: *spec.VaultURL}
	cred, err := p.credential(ctx, store, kube, namespace, spec, opts, c)
	if err != nil {
		return nil, err
	}
	c.cred = cred
	kv, err := azsecrets.NewClient(*spec.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("%s.vaultUrl: %w", field, err)
	}
	c.kv = kv
	return c, nil
}

// clientOptions: the cloud, retries (azcore's own, which honour
// Retry-After on 429 and 503) from spec.retrySettings, and a per-attempt
// policy counting throttled replies.
func (p *Provider) clientOptions(spec *esv1.AzureKVProvider, r provider.Retry) (azcore.ClientOptions, error) {
	o := azcore.ClientOptions{Transport: p.Transport, PerRetryPolicies: []policy.Policy{countThrottles{}}}
	switch spec.EnvironmentType {
	case "", "PublicCloud":
		// Left empty so that AZURE_AUTHORITY_HOST still applies.
	case "USGovernmentCloud":
		o.Cloud = cloud.AzureGovernment
	case "ChinaCloud":
		o.Cloud = cloud.AzureChina
	default:
		return o, fmt.Errorf("%s.environmentType: %q is not supported by Keyward (PublicCloud, USGovernmentCloud, ChinaCloud)", field, spec.EnvironmentType)
	}
	if r.MaxRetries >= 0 {
		o.Retry.MaxRetries = int32(r.MaxRetries)
		if r.MaxRetries == 0 {
			o.Retry.MaxRetries = -1 // azcore reads 0 as "the default"
		}
	}
	if r.Interval > 0 {
		o.Retry.RetryDelay = min(r.Interval, 800*time.Millisecond)
		o.Retry.MaxRetryDelay = r.Interval
	}
	return o, nil
}

func (p *Provider) credential(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.AzureKVProvider, opts azcore.ClientOptions, c *Client) (azcore.TokenCredential, error) {
	authType := "ServicePrincipal"
	if spec.AuthType != nil && *spec.AuthType != "" {
		authType = *spec.AuthType
	}
	read := func(sel *esv1.SecretKeySelector, name string) (string, error) {
		if sel == nil {
			return "", fmt.Errorf("%s.authSecretRef.%s: required", field, name)
		}
		v, ref, err := provider.SecretKey(ctx, kube, store, ns, *sel, field+".authSecretRef."+name)
		if err != nil {
			return "", err
		}
		c.creds = append(c.creds, ref)
		return string(v), nil
	}
	tenant := func() (string, error) {
		if spec.TenantID != nil && *spec.TenantID != "" {
			return *spec.TenantID, nil
		}
		if spec.AuthSecretRef != nil && spec.AuthSecretRef.TenantID != nil {
			return read(spec.AuthSecretRef.TenantID, "tenantId")
		}
		return "", fmt.Errorf("%s.tenantId: required for %s", field, authType)
	}

	switch authType {
	case "ServicePrincipal":
		r := spec.AuthSecretRef
		if r == nil {
			return nil, fmt.Errorf("%s.authSecretRef: required for ServicePrincipal", field)
		}
		tid, err := tenant()
		if err != nil {
			return nil, err
		}
		cid, err := read(r.ClientID, "clientId")
		if err != nil {
			return nil, err
		}
		switch {
		case r.ClientSecret != nil && r.ClientCertificate != nil:
			return nil, fmt.Errorf("%s.authSecretRef: set clientSecret or clientCertificate, not both", field)
		case r.ClientSecret != nil:
			secret, err := read(r.ClientSecret, "clientSecret")
			if err != nil {
				return nil, err
			}
			cred, err := azidentity.NewClientSecretCredential(tid, cid, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
			if err != nil {
				return nil, fmt.Errorf("%s.authSecretRef: %w", field, err)
			}
			return cred, nil
		case r.ClientCertificate != nil:
			pem, err := read(r.ClientCertificate, "clientCertificate")
			if err != nil {
				return nil, err
			}
			certs, key, err := azidentity.ParseCertificates([]byte(pem), nil)
			if err != nil {
				// Never the parser's text: it could quote the key.
				return nil, fmt.Errorf("%s.authSecretRef.clientCertificate: not a PEM certificate with its private key", field)
			}
			cred, err := azidentity.NewClientCertificateCredential(tid, cid, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: opts})
			if err != nil {
				return nil, fmt.Errorf("%s.authSecretRef: %w", field, err)
			}
			return cred, nil
		default:
			return nil, fmt.Errorf("%s.authSecretRef: set clientSecret or clientCertificate", field)
		}
	case "ManagedIdentity":
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if spec.IdentityID != nil && *spec.IdentityID != "" {
			o.ID = identityID(*spec.IdentityID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(o)
		if err != nil {
			return nil, fmt.Errorf("%s: managed identity: %w", field, err)
		}
		return cred, nil
	case "WorkloadIdentity":
		if spec.ServiceAccountRef == nil {
			return nil, fmt.Errorf("%s.serviceAccountRef: required for WorkloadIdentity", field)
		}
		sa, err := provider.ServiceAccount(ctx, kube, store, ns, *spec.ServiceAccountRef, field+".serviceAccountRef")
		if err != nil {
			return nil, err
		}
		cid, tid := sa.Annotations[clientIDAnnotation], sa.Annotations[tenantIDAnnotation]
		if r := spec.AuthSecretRef; r != nil && r.ClientID != nil {
			if cid, err = read(r.ClientID, "clientId"); err != nil {
				return nil, err
			}
		}
		if spec.TenantID != nil && *spec.TenantID != "" {
			tid = *spec.TenantID
		} else if r := spec.AuthSecretRef; r != nil && r.TenantID != nil {
			if tid, err = read(r.TenantID, "tenantId"); err != nil {
				return nil, err
			}
		}
		if cid == "" || tid == "" {
			return nil, fmt.Errorf("%s.serviceAccountRef: ServiceAccount %s/%s needs the %s and %s annotations (or set tenantId and authSecretRef.clientId)", field, sa.Namespace, sa.Name, clientIDAnnotation, tenantIDAnnotation)
		}
		audiences := spec.ServiceAccountRef.Audiences
		if len(audiences) == 0 {
			audiences = []string{federatedAudience}
		}
		tokens := provider.ServiceAccountTokenSource(kube, sa, audiences)
		cred, err := azidentity.NewClientAssertionCredential(tid, cid, tokens, &azidentity.ClientAssertionCredentialOptions{ClientOptions: opts})
		if err != nil {
			return nil, fmt.Errorf("%s: workload identity: %w", field, err)
		}
		return cred, nil
	default:
		return nil, fmt.Errorf("%s.authType: %q is not one of ServicePrincipal, ManagedIdentity, WorkloadIdentity", field, authType)
	}
}

// identityID reads a user-assigned identity as a resource ID when it looks
// like one, else as a client ID.
func identityID(id string) azidentity.ManagedIDKind {
	if len(id) > 0 && id[0] == '/' {
		return azidentity.ResourceID(id)
	}
	return azidentity.ClientID(id)
}
