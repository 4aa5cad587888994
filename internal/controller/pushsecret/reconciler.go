// Package pushsecret writes values of a Kubernetes Secret into external
// stores (PushSecret, external-secrets.io/v1alpha1). The source Secret is
// read directly on each refresh rather than watched, so the controller
// holds no cache of unlabelled Secrets.
package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/storeruntime"
)

// DefaultRefreshInterval applies when spec.refreshInterval is unset.
const DefaultRefreshInterval = time.Hour

// Reconciler reconciles PushSecrets.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Providers *storeruntime.Manager
	Class     string
	Workers   int
}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("pushsecret").
		For(&esv1alpha1.PushSecret{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ps := &esv1alpha1.PushSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, ps); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ps.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, ps)
	}
	deleteRemote := ps.Spec.DeletionPolicy == esv1alpha1.PushSecretDeletionPolicyDelete
	if deleteRemote != controllerutil.ContainsFinalizer(ps, esv1alpha1.FinalizerPushSecret) {
		orig := ps.DeepCopy()
		if deleteRemote {
			controllerutil.AddFinalizer(ps, esv1alpha1.FinalizerPushSecret)
		} else {
			controllerutil.RemoveFinalizer(ps, esv1alpha1.FinalizerPushSecret)
		}
		if err := r.Client.Patch(ctx, ps, client.MergeFrom(orig)); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating finalizers of PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
		}
	}

	synced, err := r.push(ctx, ps)
	if err != nil {
		return ctrl.Result{}, errors.Join(r.setStatus(ctx, ps, corev1.ConditionFalse, esv1alpha1.ReasonPushErrored, err.Error(), nil), err)
	}
	if deleteRemote {
		if err := r.deleteStale(ctx, ps, ps.Status.SyncedPushSecrets, synced); err != nil {
			return ctrl.Result{}, errors.Join(r.setStatus(ctx, ps, corev1.ConditionFalse, esv1alpha1.ReasonPushErrored, err.Error(), synced), err)
		}
	}
	if err := r.setStatus(ctx, ps, corev1.ConditionTrue, esv1alpha1.ReasonPushSynced, "PushSecret synced successfully", synced); err != nil {
		return ctrl.Result{}, err
	}
	every := DefaultRefreshInterval
	if ps.Spec.RefreshInterval != nil {
		every = ps.Spec.RefreshInterval.Duration
	}
	if every == 0 {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: every}, nil
}
