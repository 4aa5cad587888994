package provider

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// TokenLifetime is the life of every ServiceAccount token the controller
// requests for a store: TokenRequest's minimum. Tokens are requested
// afresh when they near expiry, so a short life costs nothing and a token
// that leaks from a remote server is soon useless.
const TokenLifetime = 10 * time.Minute

// ServiceAccountNamespace applies the credential namespace rules of
// SecretKey to a ServiceAccount: a SecretStore's own namespace only
// (naming another is an error), else for a ClusterSecretStore the
// namespace given or, failing that, the one using the store.
func ServiceAccountNamespace(store esv1.GenericStore, userNS string, sel esv1.ServiceAccountSelector, field string) (types.NamespacedName, error) {
	ns, err := refNamespace(store, userNS, sel.Namespace, field)
	if err != nil {
		return types.NamespacedName{}, err
	}
	if sel.Name == "" {
		return types.NamespacedName{}, fmt.Errorf("%s.name: required", field)
	}
	return types.NamespacedName{Namespace: ns, Name: sel.Name}, nil
}

// ServiceAccountTokenFor requests a TokenLifetime token for the
// ServiceAccount sel names (see ServiceAccountNamespace) with audiences.
func ServiceAccountTokenFor(ctx context.Context, kube Kube, store esv1.GenericStore, userNS string, sel esv1.ServiceAccountSelector, audiences []string, field string) (string, time.Time, error) {
	sa, err := ServiceAccountNamespace(store, userNS, sel, field)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, exp, err := kube.ServiceAccountToken(ctx, sa, audiences, TokenLifetime)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return tok, exp, nil
}
