package provider

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// Retry is a store's spec.retrySettings, for providers that hand them to
// their SDK's retryer. Zero fields mean the SDK's defaults.
type Retry struct {
	// MaxRetries after the first attempt (-1: not set).
	MaxRetries int
	// Interval caps the backoff between attempts (0: not set).
	Interval time.Duration
}

// RetrySettings parses spec.retrySettings.
func RetrySettings(spec *esv1.SecretStoreSpec) (Retry, error) {
	r := Retry{MaxRetries: -1}
	rs := spec.RetrySettings
	if rs == nil {
		return r, nil
	}
	if rs.MaxRetries != nil {
		if *rs.MaxRetries < 0 {
			return r, fmt.Errorf("spec.retrySettings.maxRetries: %d is negative", *rs.MaxRetries)
		}
		r.MaxRetries = int(*rs.MaxRetries)
	}
	if rs.RetryInterval != nil && *rs.RetryInterval != "" {
		d, err := time.ParseDuration(*rs.RetryInterval)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("spec.retrySettings.retryInterval: %q is not a positive duration", *rs.RetryInterval)
		}
		r.Interval = d
	}
	return r, nil
}

// ServiceAccount resolves sel by ESO's namespace rules (a SecretStore uses
// its own namespace; a ClusterSecretStore the one given, else the user's)
// and reads it, for providers that take identity hints from its annotations.
func ServiceAccount(ctx context.Context, kube Kube, store esv1.GenericStore, userNS string, sel esv1.ServiceAccountSelector, field string) (*corev1.ServiceAccount, error) {
	ns, err := refNamespace(store, userNS, sel.Namespace, field)
	if err != nil {
		return nil, err
	}
	if sel.Name == "" {
		return nil, fmt.Errorf("%s.name: required", field)
	}
	sa := &corev1.ServiceAccount{}
	if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: sel.Name}, sa); err != nil {
		return nil, fmt.Errorf("%s: reading ServiceAccount %s/%s: %w", field, ns, sel.Name, err)
	}
	return sa, nil
}

// ServiceAccountTokenSource returns a function requesting a fresh
// TokenLifetime token for sa on every call, for SDK credentials that
// exchange it when their own credentials near expiry.
func ServiceAccountTokenSource(kube Kube, sa *corev1.ServiceAccount, audiences []string) func(ctx context.Context) (string, error) {
	name := types.NamespacedName{Namespace: sa.Namespace, Name: sa.Name}
	return func(ctx context.Context) (string, error) {
		tok, _, err := kube.ServiceAccountToken(ctx, name, audiences, TokenLifetime)
		return tok, err
	}
}
