package storeruntime

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/provider"
)

// NewKube joins a direct (uncached) reader and a clientset for token requests.
func NewKube(reader client.Reader, cs corev1client.CoreV1Interface) provider.Kube {
	return kube{Reader: reader, cs: cs}
}

type kube struct {
	client.Reader
	cs corev1client.CoreV1Interface
}

// ServiceAccountToken never asks for more than TokenLifetime, whatever a
// caller passes, nor for less (the API server's minimum).
func (k kube) ServiceAccountToken(ctx context.Context, sa types.NamespacedName, audiences []string, _ time.Duration) (string, time.Time, error) {
	secs := int64(provider.TokenLifetime / time.Second)
	tr, err := k.cs.ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("requesting a token for ServiceAccount %s: %w", sa, err)
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}
