package externalsecret

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// finalize lets an ExternalSecret go. Keyward adds no finalizer (an Owner
// Secret goes with its ExternalSecret by garbage collection, and only an
// Owner Secret may be deleted), but removes ESO's, so ExternalSecrets made
// under ESO are not stuck.
func (r *Reconciler) finalize(ctx context.Context, es *esv1.ExternalSecret) error {
	if !controllerutil.ContainsFinalizer(es, esv1.FinalizerExternalSecret) {
		return nil
	}
	if es.Spec.Target.DeletionPolicy == esv1.DeletionPolicyDelete {
		current, err := r.cachedSecret(ctx, es.Namespace, targetName(es))
		if err != nil {
			return err
		}
		if current != nil && metav1.IsControlledBy(current, es) {
			if err := r.Client.Delete(ctx, current); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting Secret %s/%s: %w", current.Namespace, current.Name, err)
			}
		}
	}
	orig := es.DeepCopy()
	controllerutil.RemoveFinalizer(es, esv1.FinalizerExternalSecret)
	if err := r.Client.Patch(ctx, es, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer from ExternalSecret %s/%s: %w", es.Namespace, es.Name, err)
	}
	return nil
}
