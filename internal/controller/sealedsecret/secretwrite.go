package sealedsecret

// Writing and deleting the Secret of a SealedSecret, with Bitnami's rules
// on whose Secret may be overwritten.

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/secretwrite"
	"github.com/keyward/keyward/internal/sealing"
)

// deleteSecret deletes the Secret namespace/name once its SealedSecret is
// gone (--old-gc-behavior), but only a Secret this controller made: one
// carrying UnsealedLabel and not a Secret of someone else's that a patch
// annotation let it merge into. Both are read from the API server, not the
// cache: a SealedSecret relabelled out of --label-selector leaves the cache
// too, without being deleted, and the cache holds no annotation but ours.
func (r *Reconciler) deleteSecret(ctx context.Context, key types.NamespacedName) error {
	ss := &ssv1.SealedSecret{}
	switch err := r.APIReader.Get(ctx, key, ss); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading SealedSecret %s: %w", key, err)
	case ss.DeletionTimestamp.IsZero():
		return nil // still there, only no longer served
	}
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading Secret %s: %w", key, err)
	}
	log := ctrl.LoggerFrom(ctx)
	if !madeByUs(s) {
		log.V(1).Info("SealedSecret deleted; its Secret was not made by this controller and stays")
		return nil
	}
	// The preconditions keep a Secret made again or changed meanwhile.
	err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("deleting Secret %s (--old-gc-behavior): %w", key, err)
	}
	log.V(1).Info("SealedSecret deleted; deleted its Secret")
	return nil
}

// madeByUs says the controller wrote s from a SealedSecret of its own
// (labelled, possibly adopted with the managed annotation), as opposed to
// a Secret of someone else's it merged into (patch annotation).
func madeByUs(s *corev1.Secret) bool {
	return s.Labels[UnsealedLabel] == "true" && s.Annotations[ssv1.PatchAnnotation] != "true"
}

// unmanagedError is Bitnami's refusal to overwrite a Secret it does not own.
type unmanagedError struct{ name string }

func (e *unmanagedError) Error() string {
	return fmt.Sprintf("Resource %q already exists and is not managed by SealedSecret", e.name)
}

// write creates the Secret, or updates the existing one as Bitnami does:
// only when this SealedSecret controls it or it is annotated managed or
// patch; patch merges, otherwise data, labels, annotations and owner
// references are replaced. Equal Secrets are not written. known says the
// Secret is in the cache, so a create would only fail. It returns the
// Secret's value-changed stamp ("" when unknown).
func (r *Reconciler) write(ctx context.Context, ss *ssv1.SealedSecret, desired *corev1.Secret, known bool) (string, error) {
	key := client.ObjectKeyFromObject(desired)
	if !known {
		created := markValueChange(desired.DeepCopy(), nil, r.now())
		err := r.Client.Create(ctx, created)
		if err == nil {
			return created.Annotations[ValueChangedAnnotation], nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return "", secretwrite.Wrap("creating", key.String(), err)
		}
	}
	existing := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, existing); err != nil {
		if apierrors.IsNotFound(err) {
			created := markValueChange(desired.DeepCopy(), nil, r.now())
			if err := r.Client.Create(ctx, created); err != nil {
				return "", secretwrite.Wrap("creating", key.String(), err)
			}
			return created.Annotations[ValueChangedAnnotation], nil
		}
		return "", fmt.Errorf("reading Secret %s: %w", key, err)
	}
	if !metav1.IsControlledBy(existing, ss) &&
		existing.Annotations[ssv1.ManagedAnnotation] != "true" && existing.Annotations[ssv1.PatchAnnotation] != "true" {
		return "", &unmanagedError{name: key.Name}
	}
	updated := markValueChange(merged(existing, desired), existing, r.now())
	if equality.Semantic.DeepEqual(existing, updated) {
		return updated.Annotations[ValueChangedAnnotation], nil
	}
	if err := r.Client.Update(ctx, updated); err != nil {
		return "", secretwrite.Wrap("updating", key.String(), err)
	}
	return updated.Annotations[ValueChangedAnnotation], nil
}

// markValueChange stamps ValueChangedAnnotation on out with now when its
// data differs from before's (nil before: a new Secret), and otherwise
// keeps before's stamp, or none: a Secret adopted unchanged has no known
// change time. It returns out.
func markValueChange(out, before *corev1.Secret, now time.Time) *corev1.Secret {
	if before != nil && maps.EqualFunc(out.Data, before.Data, bytes.Equal) {
		if v, ok := before.Annotations[ValueChangedAnnotation]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[ValueChangedAnnotation] = v
		} else {
			delete(out.Annotations, ValueChangedAnnotation)
		}
		return out
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[ValueChangedAnnotation] = now.UTC().Format(time.RFC3339)
	return out
}

// merged is existing with desired applied: merged in patch mode (owner
// references only when also managed), replaced otherwise. Type is always
// taken; immutable only applies on create.
func merged(existing, desired *corev1.Secret) *corev1.Secret {
	out := existing.DeepCopy()
	if existing.Annotations[ssv1.PatchAnnotation] == "true" {
		out.Data = sealing.MergeMap(out.Data, desired.Data)
		out.Labels = sealing.MergeMap(out.Labels, desired.Labels)
		out.Annotations = sealing.MergeMap(out.Annotations, desired.Annotations)
		if existing.Annotations[ssv1.ManagedAnnotation] == "true" {
			out.OwnerReferences = desired.OwnerReferences
		}
	} else {
		out.Data = desired.Data
		out.Labels = desired.Labels
		out.Annotations = desired.Annotations
		out.OwnerReferences = desired.OwnerReferences
	}
	out.Type = desired.Type
	return out
}
