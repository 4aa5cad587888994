// Package vault is the store provider for HashiCorp Vault's KV secrets
// engine (v1 and v2) through Vault's official Go client. A client logs in
// once when it is built, renews its token before it expires, logs in again
// when Vault stops honouring the token, and revokes it when closed: the
// Manager keeps one client per store, so a sync never costs a login.
package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

const (
	field = "spec.provider.vault"
	// requestTimeout bounds one HTTP request to Vault (retries included the
	// Manager's call timeout still applies).
	requestTimeout = 30 * time.Second
)

// Provider builds clients for spec.provider.vault.
type Provider struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ServiceAccountTokenFile is the pod's own token, used by Kubernetes
	// auth when the store names neither a ServiceAccount nor a Secret.
	ServiceAccountTokenFile string
}

// New returns the provider.
func New() *Provider {
	return &Provider{Now: time.Now, ServiceAccountTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token"}
}

// Name implements provider.Provider.
func (*Provider) Name() string { return "vault" }

// Referent implements provider.Provider: credentials a ClusterSecretStore
// names without a namespace are read where the store is used.
func (*Provider) Referent(spec *esv1.SecretStoreSpec) bool {
	v := spec.Provider.Vault
	if v == nil {
		return false
	}
	unset := func(ns *string) bool { return ns == nil || *ns == "" }
	sel := func(s *esv1.SecretKeySelector) bool { return s != nil && s.Name != "" && unset(s.Namespace) }
	if v.CAProvider != nil && unset(v.CAProvider.Namespace) {
		return true
	}
	if sel(v.TLS.CertSecretRef) || sel(v.TLS.KeySecretRef) {
		return true
	}
	a := v.Auth
	if a == nil {
		return false
	}
	switch {
	case a.TokenSecretRef != nil:
		return sel(a.TokenSecretRef)
	case a.AppRole != nil:
		return sel(a.AppRole.RoleRef) || sel(&a.AppRole.SecretRef)
	case a.Kubernetes != nil:
		return (a.Kubernetes.ServiceAccountRef != nil && unset(a.Kubernetes.ServiceAccountRef.Namespace)) || sel(a.Kubernetes.SecretRef)
	case a.UserPass != nil:
		return sel(&a.UserPass.SecretRef)
	case a.Ldap != nil:
		return sel(&a.Ldap.SecretRef)
	case a.Jwt != nil:
		if k := a.Jwt.KubernetesServiceAccountToken; k != nil {
			return unset(k.ServiceAccountRef.Namespace)
		}
		return sel(a.Jwt.SecretRef)
	case a.Cert != nil:
		return sel(&a.Cert.ClientCert) || sel(&a.Cert.SecretRef)
	}
	return false
}

// AmbientIdentity implements provider.AmbientIdentity: Kubernetes auth
// naming neither serviceAccountRef nor secretRef logs in with the
// controller's own ServiceAccount token, at whatever server the store
// names. Every other method uses only what the store names.
func (*Provider) AmbientIdentity(spec *esv1.SecretStoreSpec) (string, string) {
	v := spec.Provider.Vault
	if v == nil || v.Auth == nil || v.Auth.Kubernetes == nil {
		return "", ""
	}
	if k := v.Auth.Kubernetes; k.ServiceAccountRef == nil && k.SecretRef == nil {
		return field + ".auth.kubernetes", "serviceAccountRef or secretRef"
	}
	return "", ""
}

// NewClient implements provider.Provider: it builds the HTTP client and
// logs in, so a store whose credentials Vault refuses fails here.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube provider.Kube, namespace string) (provider.Client, error) {
	spec := store.GetSpec().Provider.Vault
	if spec == nil {
		return nil, errors.New(field + " is not set")
	}
	if spec.Server == "" {
		return nil, errors.New(field + ".server: required")
	}
	kv, err := newKV(spec)
	if err != nil {
		return nil, err
	}
	c := &Client{kv: kv, cas: spec.CheckAndSet != nil && spec.CheckAndSet.Required}

	tlsCfg, err := p.tlsConfig(ctx, store, kube, namespace, spec, c)
	if err != nil {
		return nil, err
	}
	// Auth first: cert auth may add the client certificate every request presents.
	a, err := p.auth(ctx, store, kube, namespace, spec, tlsCfg, c)
	if err != nil {
		return nil, err
	}
	secrets, err := newAPIClient(store, spec, tlsCfg)
	if err != nil {
		return nil, err
	}
	if spec.Namespace != nil {
		secrets.SetNamespace(*spec.Namespace)
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("store", storeName(store))
	c.session = newSession(storeName(store), secrets, a, now, log)
	if err := c.session.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func storeName(store esv1.GenericStore) string {
	if store.GetKind() == esv1.ClusterSecretStoreKind {
		return store.GetKind() + "/" + store.GetName()
	}
	return store.GetKind() + "/" + store.GetNamespace() + "/" + store.GetName()
}

// tlsConfig trusts the store's CA bundle (else the system's) and presents
// its client certificate, when it has one.
func (p *Provider) tlsConfig(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.VaultProvider, c *Client) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	ca, caRef, err := provider.CABundle(ctx, kube, store, ns, spec.CABundle, spec.CAProvider, field)
	if err != nil {
		return nil, err
	}
	if caRef != nil {
		c.creds = append(c.creds, *caRef)
	}
	if ca != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New(field + ".caBundle: no PEM certificate found in the CA bundle")
		}
		cfg.RootCAs = pool
	}
	certRef, keyRef := spec.TLS.CertSecretRef, spec.TLS.KeySecretRef
	if (certRef == nil) != (keyRef == nil) {
		return nil, errors.New(field + ".tls: set both certSecretRef and keySecretRef, or neither")
	}
	if certRef != nil {
		cert, err := p.keyPair(ctx, store, kube, ns, *certRef, *keyRef, field+".tls.certSecretRef", field+".tls.keySecretRef", c)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (p *Provider) keyPair(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, certSel, keySel esv1.SecretKeySelector, certField, keyField string, c *Client) (tls.Certificate, error) {
	certPEM, ref, err := provider.SecretKey(ctx, kube, store, ns, certSel, certField)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, kref, err := provider.SecretKey(ctx, kube, store, ns, keySel, keyField)
	if err != nil {
		return tls.Certificate{}, err
	}
	c.creds = append(c.creds, ref, kref)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The parser's message names no key material.
		return tls.Certificate{}, fmt.Errorf("%s: the certificate and key do not load: %w", certField, err)
	}
	return cert, nil
}

// newAPIClient builds a Vault API client from the store alone: unlike
// api.DefaultConfig it takes nothing from VAULT_* variables of the
// controller's environment, and it starts without a token.
func newAPIClient(store esv1.GenericStore, spec *esv1.VaultProvider, tlsCfg *tls.Config) (*api.Client, error) {
	transport := cleanhttp.DefaultPooledTransport()
	transport.TLSClientConfig = tlsCfg
	transport.TLSHandshakeTimeout = 10 * time.Second
	// The Manager lets several reads run at once; keep their connections.
	transport.MaxIdleConnsPerHost = 32
	cfg := &api.Config{
		Address:      spec.Server,
		HttpClient:   &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Timeout:      requestTimeout,
		MinRetryWait: time.Second,
		MaxRetryWait: 1500 * time.Millisecond,
		MaxRetries:   2,
		Backoff:      retryablehttp.RateLimitLinearJitterBackoff,
		// The client's own state is enough for read-your-writes: it sends
		// back the replication state each response carried (Enterprise).
		ReadYourWrites: spec.ReadYourWrites,
	}
	if rs := store.GetSpec().RetrySettings; rs != nil {
		if rs.MaxRetries != nil {
			cfg.MaxRetries = int(*rs.MaxRetries)
		}
		if rs.RetryInterval != nil {
			d, err := time.ParseDuration(*rs.RetryInterval)
			if err != nil {
				return nil, fmt.Errorf("spec.retrySettings.retryInterval: %w", err)
			}
			cfg.MinRetryWait, cfg.MaxRetryWait = d, d
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s.server: %w", field, err)
	}
	c.ClearToken()
	c.ClearNamespace()
	h := http.Header{}
	for k, v := range spec.Headers {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Vault-") {
			return nil, fmt.Errorf("%s.headers: %q: headers starting with X-Vault- are set by the client itself", field, k)
		}
		h.Set(k, v)
	}
	// Vault's SSRF guard, which api.NewClient sets and SetHeaders would drop.
	h.Set(api.RequestHeaderName, "true")
	if spec.ForwardInconsistent {
		h.Set(api.HeaderInconsistent, "forward-active-node")
	}
	c.SetHeaders(h)
	return c, nil
}
