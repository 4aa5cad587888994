// Package externalsecret reconciles ExternalSecrets into Secrets, following
// the External Secrets Operator's contract (fields, reasons, events and the
// markers on the Secret), so Secrets made by ESO are adopted in place.
//
// Differences that matter at scale: refreshes are jittered and scheduled
// from the age of the values used, reads go through the provider Manager
// (one client per store, coalesced reads, a short value cache), and only
// Secrets carrying the managed label are watched.
package externalsecret

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/storeruntime"
)

// indexTargetName indexes ExternalSecrets by the Secret they write.
const indexTargetName = "keyward.externalsecrets.target-name"

// Reconciler syncs ExternalSecrets.
type Reconciler struct {
	// Client reads ExternalSecrets, stores, namespaces and managed Secrets
	// from the manager's cache, and writes.
	Client client.Client
	// APIReader reads what the cache does not hold: Secrets without the
	// managed label, template ConfigMaps and Secrets.
	APIReader client.Reader
	Providers *storeruntime.Manager
	Recorder  events.EventRecorder
	Metrics   *Metrics
	// Class is the controller class; stores of another class are ignored.
	Class string
	// Workers is the number of ExternalSecrets synced at once.
	Workers int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the controller. The manager's cache must hold
// only Secrets with the managed label (see internal/manager).
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &esv1.ExternalSecret{}, indexTargetName, func(o client.Object) []string {
		return []string{targetName(o.(*esv1.ExternalSecret))}
	}); err != nil {
		return fmt.Errorf("indexing ExternalSecrets by target name: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("externalsecret").
		For(&esv1.ExternalSecret{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretToExternalSecrets), builder.WithPredicates(secretChanged{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: max(r.Workers, 1),
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, 5*time.Minute),
		}).
		Complete(r)
}

// secretChanged passes Secret events that may need a sync: deletions, and
// changes that left a Secret different from what was last written.
type secretChanged struct{ predicate.Funcs }

func (secretChanged) Create(e event.CreateEvent) bool { return !isValid(e.Object.(*corev1.Secret)) }
func (secretChanged) Update(e event.UpdateEvent) bool { return !isValid(e.ObjectNew.(*corev1.Secret)) }
func (secretChanged) Delete(event.DeleteEvent) bool   { return true }
func (secretChanged) Generic(event.GenericEvent) bool { return true }

func (r *Reconciler) secretToExternalSecrets(ctx context.Context, o client.Object) []reconcile.Request {
	var list esv1.ExternalSecretList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexTargetName: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing ExternalSecrets for a Secret", "secret", client.ObjectKeyFromObject(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, es := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&es)})
	}
	return reqs
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	defer func() { r.Metrics.observeDuration(time.Since(start)) }()
	es := &esv1.ExternalSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, es); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !es.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, es)
	}
	return r.sync(ctx, es)
}
