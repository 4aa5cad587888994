// Package gcp is the store provider for Google Secret Manager
// (spec.provider.gcpsm). One gRPC client is built per store and kept,
// unlike ESO, which dials a new client per sync behind a process-wide lock.
// Credentials are a service-account key from a Secret, GKE workload
// identity (a TokenRequest token exchanged at Google STS, then, when the
// ServiceAccount names one, impersonating a Google service account), or
// application default credentials; OAuth tokens are cached and renewed
// five minutes before they expire.
//
// SECRETMANAGER_EMULATOR_HOST (host:port) points the provider at a local
// plaintext server without credentials, as Google's emulator variables do.
package gcp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/externalaccount"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

const (
	field = "spec.provider.gcpsm"
	// EmulatorHostEnv names a plaintext endpoint to use instead of Google's.
	EmulatorHostEnv = "SECRETMANAGER_EMULATOR_HOST"
	// gsaAnnotation on a Kubernetes ServiceAccount names the Google service
	// account it may impersonate (GKE workload identity).
	gsaAnnotation = "iam.gke.io/gcp-service-account"
	scope         = "https://www.googleapis.com/auth/cloud-platform"
	// renewBefore is how long before expiry an OAuth token is replaced.
	renewBefore = 5 * time.Minute
)

// Provider builds clients for spec.provider.gcpsm.
type Provider struct {
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// STSURL and IAMCredentialsURL replace Google's token exchange and
	// impersonation endpoints (tests point them at loopback).
	STSURL, IAMCredentialsURL string
	// ClientOptions are added to every client (tests add their TLS trust).
	ClientOptions []option.ClientOption
}

// New returns the provider.
func New() *Provider { return &Provider{} }

// Name implements provider.Provider.
func (*Provider) Name() string { return "gcpsm" }

// Referent implements provider.Provider.
func (*Provider) Referent(spec *esv1.SecretStoreSpec) bool {
	g := spec.Provider.GCPSM
	if g == nil {
		return false
	}
	unset := func(ns *string) bool { return ns == nil || *ns == "" }
	if r := g.Auth.SecretRef; r != nil && unset(r.SecretAccessKey.Namespace) {
		return true
	}
	if w := g.Auth.WorkloadIdentity; w != nil && unset(w.ServiceAccountRef.Namespace) {
		return true
	}
	return false
}

func (p *Provider) getenv(k string) string {
	if p.Getenv != nil {
		return p.Getenv(k)
	}
	return os.Getenv(k)
}

// AmbientIdentity implements provider.AmbientIdentity: with neither
// auth.secretRef nor auth.workloadIdentity the client would find the
// controller's application default credentials. Against the emulator
// (SECRETMANAGER_EMULATOR_HOST, set by whoever runs the controller) no
// credentials are used at all.
func (p *Provider) AmbientIdentity(spec *esv1.SecretStoreSpec) (string, string) {
	g := spec.Provider.GCPSM
	if g == nil || g.Auth.SecretRef != nil || g.Auth.WorkloadIdentity != nil || g.Auth.WorkloadIdentityFederation != nil {
		return "", ""
	}
	if p.getenv(EmulatorHostEnv) != "" {
		return "", ""
	}
	return field + ".auth", "secretRef, or workloadIdentity.serviceAccountRef naming a ServiceAccount of the store's namespace"
}

// NewClient implements provider.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube provider.Kube, namespace string) (provider.Client, error) {
	spec := store.GetSpec().Provider.GCPSM
	if spec == nil {
		return nil, errors.New(field + " is not set")
	}
	retry, err := provider.RetrySettings(store.GetSpec())
	if err != nil {
		return nil, err
	}
	c := &Client{project: spec.ProjectID, location: spec.Location, fetchLatestEnabled: spec.SecretVersionSelectionPolicy == "LatestOrFetch"}
	opts := []option.ClientOption{option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(countThrottles))}
	if host := p.getenv(EmulatorHostEnv); host != "" {
		opts = append(opts, option.WithEndpoint(host), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	} else {
		if spec.Location != "" {
			opts = append(opts, option.WithEndpoint(fmt.Sprintf("secretmanager.%s.rep.googleapis.com:443", spec.Location)))
		}
		ts, project, err := p.tokenSource(ctx, store, kube, namespace, spec, c)
		if err != nil {
			return nil, err
		}
		if c.project == "" {
			c.project = project
		}
		if ts != nil {
			c.tokens = oauth2.ReuseTokenSourceWithExpiry(nil, ts, renewBefore)
			opts = append(opts, option.WithTokenSource(c.tokens))
		}
	}
	if c.project == "" {
		return nil, fmt.Errorf("%s.projectID: required", field)
	}
	opts = append(opts, p.ClientOptions...)
	sm, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: creating the Secret Manager client: %w", field, err)
	}
	setRetries(sm, retry)
	c.sm = sm
	return c, nil
}

// tokenSource builds the store's OAuth token source (nil: application
// default credentials, found by the client itself) and the project its
// key names, if any.
func (p *Provider) tokenSource(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.GCPSMProvider, c *Client) (oauth2.TokenSource, string, error) {
	a := spec.Auth
	switch {
	case a.SecretRef != nil && a.WorkloadIdentity != nil:
		return nil, "", fmt.Errorf("%s.auth: set secretRef or workloadIdentity, not both", field)
	case a.WorkloadIdentityFederation != nil:
		return nil, "", fmt.Errorf("%s.auth.workloadIdentityFederation: not supported by Keyward yet; use workloadIdentity or secretRef", field)
	case a.SecretRef != nil:
		key, ref, err := provider.SecretKey(ctx, kube, store, ns, a.SecretRef.SecretAccessKey, field+".auth.secretRef.secretAccessKeySecretRef")
		if err != nil {
			return nil, "", err
		}
		c.creds = append(c.creds, ref)
		creds, err := google.CredentialsFromJSONWithType(context.Background(), key, google.ServiceAccount, scope)
		if err != nil {
			// The parser's message could quote the key; say only what is wrong.
			return nil, "", fmt.Errorf("%s.auth.secretRef.secretAccessKeySecretRef: Secret %s/%s key %q is not a service-account key JSON", field, ref.Namespace, ref.Name, a.SecretRef.SecretAccessKey.Key)
		}
		return creds.TokenSource, creds.ProjectID, nil
	case a.WorkloadIdentity != nil:
		ts, err := p.workloadIdentity(ctx, store, kube, ns, spec, a.WorkloadIdentity)
		return ts, "", err
	}
	return nil, "", nil
}

// workloadIdentity exchanges a TokenRequest token for the Kubernetes
// ServiceAccount at Google STS (the GKE workload identity pool of the
// cluster), then impersonates the Google service account the
// ServiceAccount's iam.gke.io/gcp-service-account annotation names, if any.
func (p *Provider) workloadIdentity(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.GCPSMProvider, wi *esv1.GCPWorkloadIdentity) (oauth2.TokenSource, error) {
	f := field + ".auth.workloadIdentity"
	project := wi.ClusterProjectID
	if project == "" {
		project = spec.ProjectID
	}
	if project == "" || wi.ClusterLocation == "" || wi.ClusterName == "" {
		return nil, fmt.Errorf("%s: clusterLocation, clusterName and clusterProjectID (or projectID) are required", f)
	}
	sa, err := provider.ServiceAccount(ctx, kube, store, ns, wi.ServiceAccountRef, f+".serviceAccountRef")
	if err != nil {
		return nil, err
	}
	pool := project + ".svc.id.goog"
	audiences := wi.ServiceAccountRef.Audiences
	if len(audiences) == 0 {
		audiences = []string{pool}
	}
	cfg := externalaccount.Config{
		Audience: fmt.Sprintf("identitynamespace:%s:https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s",
			pool, project, wi.ClusterLocation, wi.ClusterName),
		SubjectTokenType:     "urn:ietf:params:oauth:token-type:jwt",
		TokenURL:             "https://sts.googleapis.com/v1/token",
		Scopes:               []string{scope},
		SubjectTokenSupplier: subjectTokens(provider.ServiceAccountTokenSource(kube, sa, audiences)),
	}
	if p.STSURL != "" {
		cfg.TokenURL = p.STSURL
	}
	if gsa := sa.Annotations[gsaAnnotation]; gsa != "" {
		base := "https://iamcredentials.googleapis.com"
		if p.IAMCredentialsURL != "" {
			base = p.IAMCredentialsURL
		}
		cfg.ServiceAccountImpersonationURL = fmt.Sprintf("%s/v1/projects/-/serviceAccounts/%s:generateAccessToken", base, gsa)
	}
	// The token source outlives this call: it renews for the client's life.
	ts, err := externalaccount.NewTokenSource(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	return ts, nil
}

// subjectTokens hands externalaccount a fresh ServiceAccount token each time
// it renews.
type subjectTokens func(ctx context.Context) (string, error)

func (f subjectTokens) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	tok, err := f(ctx)
	if err != nil {
		return "", fmt.Errorf("%s.auth.workloadIdentity: %w", field, err)
	}
	return tok, nil
}
