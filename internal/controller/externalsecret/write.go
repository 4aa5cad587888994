package externalsecret

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/secretwrite"
	"github.com/keyward/keyward/internal/esrender"
	"github.com/keyward/keyward/internal/specerr"
)

func targetName(es *esv1.ExternalSecret) string {
	if es.Spec.Target.Name != "" {
		return es.Spec.Target.Name
	}
	return es.Name
}

func creationPolicy(es *esv1.ExternalSecret) esv1.ExternalSecretCreationPolicy {
	if es.Spec.Target.CreationPolicy == "" {
		return esv1.CreatePolicyOwner
	}
	return es.Spec.Target.CreationPolicy
}

var errSecretMissing = errors.New("target Secret missing")

// cachedSecret returns the target Secret if the managed-Secret cache has
// it; a Secret without the managed label is not there (nil).
func (r *Reconciler) cachedSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
	}
	return s, nil
}

// write creates or updates the Secret. A Secret the cache does not hold is
// created, or, when it exists without the managed label (made by hand or
// by ESO before the label), read directly and adopted.
// It also returns when the Secret's data last changed (its value-changed
// stamp, "" when unknown).
func (r *Reconciler) write(ctx context.Context, es *esv1.ExternalSecret, name string, policy esv1.ExternalSecretCreationPolicy, current *corev1.Secret, rend esrender.Result) (string, string, error) {
	owner := client.FieldOwner(fieldManager(es.Name))
	if current == nil {
		if policy != esv1.CreatePolicyMerge {
			want := desired(es, name, nil, rend)
			markValueChange(want, nil, r.now())
			if policy == esv1.CreatePolicyOwner {
				if err := setOwner(want, es); err != nil {
					return "", "", err
				}
			}
			err := r.Client.Create(ctx, want, owner)
			if err == nil {
				return esv1.EventReasonCreated, want.Annotations[ValueChangedAnnotation], nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return "", "", secretwrite.Wrap("creating", es.Namespace+"/"+name, err)
			}
		}
		current = &corev1.Secret{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: es.Namespace, Name: name}, current)
		if apierrors.IsNotFound(err) && policy == esv1.CreatePolicyMerge {
			return "", "", errSecretMissing
		}
		if err != nil {
			return "", "", fmt.Errorf("reading Secret %s/%s: %w", es.Namespace, name, err)
		}
	}
	want := desired(es, name, current, rend)
	markValueChange(want, current, r.now())
	if policy == esv1.CreatePolicyOwner {
		if err := setOwner(want, es); err != nil {
			return "", "", err
		}
	}
	if sameSecret(current, want) {
		return "", want.Annotations[ValueChangedAnnotation], nil
	}
	if current.Immutable != nil && *current.Immutable && !equality.Semantic.DeepEqual(current.Data, want.Data) {
		return "", "", specerr.New("Secret %s/%s is immutable and its data would change; delete it to let it be recreated", es.Namespace, name)
	}
	if err := r.Client.Update(ctx, want, owner); err != nil {
		return "", "", secretwrite.Wrap("updating", es.Namespace+"/"+name, err)
	}
	return esv1.EventReasonUpdated, want.Annotations[ValueChangedAnnotation], nil
}
