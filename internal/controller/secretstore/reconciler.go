// Package secretstore validates SecretStores and ClusterSecretStores and
// reports the outcome in their status, as ESO does: the provider must be
// one this controller serves, its client must build, and the store must
// answer a validation call.
package secretstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/storeruntime"
)

// DefaultRevalidateInterval applies when spec.refreshInterval is unset or 0.
const DefaultRevalidateInterval = 5 * time.Minute

// Reconciler validates one kind of store: SecretStore or ClusterSecretStore.
type Reconciler struct {
	Client    client.Client
	Providers *storeruntime.Manager
	// Kind is esv1.SecretStoreKind or esv1.ClusterSecretStoreKind.
	Kind    string
	Class   string
	Workers int
}

func (r *Reconciler) newObject() esv1.GenericStore {
	if r.Kind == esv1.ClusterSecretStoreKind {
		return &esv1.ClusterSecretStore{}
	}
	return &esv1.SecretStore{}
}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	name := "secretstore"
	if r.Kind == esv1.ClusterSecretStoreKind {
		name = "clustersecretstore"
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		For(r.newObject(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	store := r.newObject()
	if err := r.Client.Get(ctx, req.NamespacedName, store); err != nil {
		if apierrors.IsNotFound(err) {
			r.Providers.Forget(r.Kind, req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !store.GetDeletionTimestamp().IsZero() {
		r.Providers.Forget(r.Kind, req.Namespace, req.Name)
		return ctrl.Result{}, nil
	}
	spec := store.GetSpec()
	if spec.Controller != r.Class {
		return ctrl.Result{}, nil
	}
	every, err := revalidateInterval(spec.RefreshInterval)
	if err != nil {
		return ctrl.Result{}, r.setReady(ctx, store, corev1.ConditionFalse, esv1.ReasonInvalidStoreConfig, err.Error(), "")
	}
	p, err := provider.Configured(spec, r.Providers.Providers())
	if err != nil {
		return ctrl.Result{}, r.setReady(ctx, store, corev1.ConditionFalse, esv1.ReasonInvalidProviderConfig, err.Error(), "")
	}
	// A ClusterSecretStore whose credentials are resolved in each user's
	// namespace cannot be checked on its own.
	if r.Kind == esv1.ClusterSecretStoreKind && p.Referent(spec) {
		return ctrl.Result{RequeueAfter: every}, r.setReady(ctx, store, corev1.ConditionTrue, esv1.ReasonStoreValidationUnknown,
			"credentials are resolved in the namespace of each ExternalSecret, so the store is checked when used", esv1.SecretStoreReadOnly)
	}
	s, err := r.Providers.Store(ctx, store, store.GetNamespace())
	if errors.Is(err, storeruntime.ErrControllerIdentity) {
		// Only an edit of the store can cure this; no retry until then.
		return ctrl.Result{}, r.setReady(ctx, store, corev1.ConditionFalse, esv1.ReasonInvalidProviderConfig, err.Error(), "")
	}
	if err != nil {
		return ctrl.Result{}, errors.Join(r.setReady(ctx, store, corev1.ConditionFalse, esv1.ReasonInvalidProviderConfig, err.Error(), ""), err)
	}
	caps := esv1.SecretStoreReadOnly
	if s.CanWrite() {
		caps = esv1.SecretStoreReadWrite
	}
	err = s.Validate(ctx)
	switch {
	case errors.Is(err, provider.ErrValidationUnknown):
		return ctrl.Result{RequeueAfter: every}, r.setReady(ctx, store, corev1.ConditionTrue, esv1.ReasonStoreValidationUnknown, "store validation result unknown", caps)
	case err != nil:
		msg := fmt.Sprintf("%s %s: validation failed: %v", r.Kind, store.GetName(), err)
		return ctrl.Result{}, errors.Join(r.setReady(ctx, store, corev1.ConditionFalse, esv1.ReasonStoreValidationFailed, msg, caps), err)
	}
	return ctrl.Result{RequeueAfter: every}, r.setReady(ctx, store, corev1.ConditionTrue, esv1.ReasonStoreValid, "store validated", caps)
}

// revalidateInterval reads spec.refreshInterval: seconds (v1beta1) or a
// Go duration (v1).
func revalidateInterval(v *intstr.IntOrString) (time.Duration, error) {
	if v == nil {
		return DefaultRevalidateInterval, nil
	}
	var d time.Duration
	if v.Type == intstr.Int {
		d = time.Duration(v.IntVal) * time.Second
	} else if n, err := strconv.Atoi(v.StrVal); err == nil {
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v.StrVal); err != nil {
		return 0, fmt.Errorf("spec.refreshInterval: %q is neither seconds nor a Go duration", v.StrVal)
	}
	if d <= 0 {
		return DefaultRevalidateInterval, nil
	}
	return d, nil
}

func (r *Reconciler) setReady(ctx context.Context, store esv1.GenericStore, status corev1.ConditionStatus, reason, msg string, caps esv1.SecretStoreCapabilities) error {
	// The message is the one the status carries: built without values.
	ctrl.LoggerFrom(ctx).V(1).Info("store status", "ready", status, "reason", reason, "message", msg)
	st := store.GetStatus()
	orig := st.DeepCopy()
	cond := esv1.SecretStoreStatusCondition{Type: esv1.SecretStoreReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}
	var conds []esv1.SecretStoreStatusCondition
	for _, c := range st.Conditions {
		if c.Type == esv1.SecretStoreReady {
			if c.Status == status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			continue
		}
		conds = append(conds, c)
	}
	st.Conditions = append(conds, cond)
	st.Capabilities = caps
	if equality.Semantic.DeepEqual(orig, st) {
		return nil
	}
	// A merge patch of status only: a full update would drop provider
	// settings this version of the types does not know.
	body, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return err
	}
	if err := r.Client.Status().Patch(ctx, store, client.RawPatch(types.MergePatchType, body)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status of %s %s: %w", r.Kind, store.GetName(), err)
	}
	return nil
}
