package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/storeref"
)

// finalize deletes everything pushed (deletionPolicy Delete) and lets go.
func (r *Reconciler) finalize(ctx context.Context, ps *esv1alpha1.PushSecret) error {
	if !controllerutil.ContainsFinalizer(ps, esv1alpha1.FinalizerPushSecret) {
		return nil
	}
	if err := r.deleteStale(ctx, ps, ps.Status.SyncedPushSecrets, nil); err != nil {
		return errors.Join(r.setStatus(ctx, ps, corev1.ConditionFalse, esv1alpha1.ReasonPushErrored, err.Error(), ps.Status.SyncedPushSecrets), err)
	}
	orig := ps.DeepCopy()
	controllerutil.RemoveFinalizer(ps, esv1alpha1.FinalizerPushSecret)
	if err := r.Client.Patch(ctx, ps, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer from PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return nil
}

// deleteStale removes remote values pushed before but not any more.
func (r *Reconciler) deleteStale(ctx context.Context, ps *esv1alpha1.PushSecret, before, now esv1alpha1.SyncedPushSecretsMap) error {
	var errs []error
	for label, entries := range before {
		for id, d := range entries {
			if _, still := now[label][id]; still {
				continue
			}
			if err := r.deleteOne(ctx, ps, label, d.Match.RemoteRef); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) deleteOne(ctx context.Context, ps *esv1alpha1.PushSecret, label string, ref esv1alpha1.PushSecretRemoteRef) error {
	kind, name, ok := strings.Cut(label, "/")
	if !ok {
		return nil
	}
	gs, err := storeref.Resolve(ctx, r.Client, esv1.SecretStoreRef{Name: name, Kind: kind}, ps.Namespace, r.Class)
	if apierrors.IsNotFound(errors.Unwrap(err)) || errors.Is(err, storeref.ErrOtherController) {
		return nil // the store is gone or not ours: nothing we can delete
	}
	if err != nil {
		return err
	}
	s, err := r.Providers.Store(ctx, gs, ps.Namespace)
	if err != nil {
		return err
	}
	return s.Delete(ctx, ref.RemoteKey, ref.Property)
}
