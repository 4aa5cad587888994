package keys

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// KeySecrets returns the key Secrets a controller in namespace would load:
// those labelled active, plus the legacy Secret named exactly prefix.
func KeySecrets(ctx context.Context, kube corev1client.CoreV1Interface, namespace, prefix string) ([]corev1.Secret, error) {
	list, err := kube.Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: KeyLabel + "=" + KeyLabelActive})
	if err != nil {
		return nil, fmt.Errorf("listing key Secrets in %s: %w", namespace, err)
	}
	out := list.Items
	legacy, err := kube.Secrets(namespace).Get(ctx, prefix, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading legacy key Secret %s/%s: %w", namespace, prefix, err)
	case !slices.ContainsFunc(out, func(s corev1.Secret) bool { return s.Name == legacy.Name }):
		out = append(out, *legacy)
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ParseKeySecret reads the keys of one key Secret as the controller does,
// ordered by certificate NotBefore.
func ParseKeySecret(s *corev1.Secret) ([]Key, error) {
	return (&Registry{opts: RegistryOptions{Order: OrderCertNotBefore}}).parse(s)
}
