package sealedsecret

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/eventrec"
	"github.com/keyward/keyward/internal/sealing"
)

// ownCache is the controller's cache as a manager runnable: started with
// the manager's caches and waited for before any controller starts.
type ownCache struct{ cache.Cache }

func (c ownCache) GetCache() cache.Cache { return c.Cache }

// SetupWithManager registers the controller with mgr. It keeps its own
// cache, so what it holds does not depend on the manager's options: the
// SealedSecrets it serves (in Namespaces, matching LabelSelector), and only
// the Secrets it labelled in those namespaces, without their data. Client
// and APIReader default to the manager's.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	c, err := cache.New(mgr.GetConfig(), r.cacheOptions(mgr))
	if err != nil {
		return fmt.Errorf("sealedsecret: building cache: %w", err)
	}
	if err := mgr.Add(ownCache{c}); err != nil {
		return err
	}
	// Both informers exist before the cache starts, so the manager waits
	// for them, and reads never miss an informer.
	ctx := context.Background()
	for _, obj := range []client.Object{&corev1.Secret{}, &ssv1.SealedSecret{}} {
		if _, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("sealedsecret: informer for %T: %w", obj, err)
		}
	}
	r.Cache = c
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		if r.Recorder, err = eventrec.For(mgr, "sealed-secrets"); err != nil {
			return fmt.Errorf("sealedsecret: %w", err)
		}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("sealedsecret").
		WatchesRawSource(source.Kind(c, &ssv1.SealedSecret{},
			&handler.TypedEnqueueRequestForObject[*ssv1.SealedSecret]{},
			predicate.Or[*ssv1.SealedSecret](predicate.TypedGenerationChangedPredicate[*ssv1.SealedSecret]{}, scopeChanged())),
		).
		WatchesRawSource(source.Kind(c, &corev1.Secret{}, r.secretEvents())).
		WatchesRawSource(r.keyChanges(r.Keys.Subscribe())).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}

// cacheOptions select what the controller's cache holds. Key Secrets are
// not among them: internal/keys reads those from the controller namespace.
func (r *Reconciler) cacheOptions(mgr ctrl.Manager) cache.Options {
	o := cache.Options{
		HTTPClient: mgr.GetHTTPClient(),
		Scheme:     mgr.GetScheme(),
		Mapper:     mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {
				// Not LabelSelector: a Secret carries its template's
				// labels, not its SealedSecret's.
				Label:     labels.SelectorFromSet(labels.Set{UnsealedLabel: "true"}),
				Transform: stripSecret,
			},
			&ssv1.SealedSecret{}: {Label: r.LabelSelector, Transform: stripSealedSecret},
		},
		// Reading any other type must fail loudly, not start a new watch.
		ReaderFailOnMissingInformer: true,
	}
	if len(r.Namespaces) > 0 {
		// One informer per namespace for each type.
		o.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range r.Namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}

// stripSecret keeps only what the controller reads of a cached Secret: its
// identity and the annotations it wrote. Less memory, and no plaintext held
// longer than a reconcile.
func stripSecret(obj any) (any, error) {
	if s, ok := obj.(*corev1.Secret); ok {
		s.Data, s.StringData, s.ManagedFields, s.OwnerReferences = nil, nil, nil, nil
		ours := map[string]string{}
		for _, k := range []string{SourceDigestAnnotation, KeyFingerprintsAnnotation, ValueChangedAnnotation} {
			if v, ok := s.Annotations[k]; ok {
				ours[k] = v
			}
		}
		s.Annotations = ours
	}
	return obj, nil
}

// lastApplied is kubectl's copy of the whole object, as large as the rest
// of a SealedSecret together.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// stripSealedSecret drops from cached SealedSecrets what the controller
// never reads: managed fields and kubectl's last-applied copy.
func stripSealedSecret(obj any) (any, error) {
	if ss, ok := obj.(*ssv1.SealedSecret); ok {
		ss.ManagedFields = nil
		delete(ss.Annotations, lastApplied)
	}
	return obj, nil
}

// scopeChanged passes metadata-only updates that change the scope
// annotations: the label changes, so the values must open again.
func scopeChanged() predicate.TypedPredicate[*ssv1.SealedSecret] {
	return predicate.TypedFuncs[*ssv1.SealedSecret]{
		CreateFunc:  func(event.TypedCreateEvent[*ssv1.SealedSecret]) bool { return false },
		DeleteFunc:  func(event.TypedDeleteEvent[*ssv1.SealedSecret]) bool { return false },
		GenericFunc: func(event.TypedGenericEvent[*ssv1.SealedSecret]) bool { return false },
		UpdateFunc: func(e event.TypedUpdateEvent[*ssv1.SealedSecret]) bool {
			return sealing.ScopeOf(e.ObjectOld.Annotations) != sealing.ScopeOf(e.ObjectNew.Annotations)
		},
	}
}

// secretEvents requeues a SealedSecret when its Secret is deleted (to make
// it again) or changed by someone else (to put it back). Our own writes
// change the source digest or create the Secret; neither needs a pass.
func (r *Reconciler) secretEvents() handler.TypedEventHandler[*corev1.Secret, reconcile.Request] {
	enqueue := func(s *corev1.Secret, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(s)})
	}
	// Every event means the cache holds the Secret as written, or newer:
	// the controller's own record of the write is no longer needed.
	return handler.TypedFuncs[*corev1.Secret, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*corev1.Secret], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.forgetWrite(client.ObjectKeyFromObject(e.Object))
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*corev1.Secret], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.forgetWrite(client.ObjectKeyFromObject(e.Object))
			if !r.SkipRecreate {
				enqueue(e.Object, q)
			}
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*corev1.Secret], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.ObjectNew.ResourceVersion == e.ObjectOld.ResourceVersion {
				return // resync
			}
			r.forgetWrite(client.ObjectKeyFromObject(e.ObjectNew))
			if r.SkipRecreate {
				return
			}
			if e.ObjectNew.Annotations[SourceDigestAnnotation] == e.ObjectOld.Annotations[SourceDigestAnnotation] {
				r.markDrift(client.ObjectKeyFromObject(e.ObjectNew))
				enqueue(e.ObjectNew, q)
			}
		},
	}
}

// keyChanges requeues, after the key set changes, every SealedSecret that
// is not synced (a new key may open it) or was opened by a key that is gone
// (its status must say so).
func (r *Reconciler) keyChanges(changed <-chan struct{}) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		go func() {
			// The first load is no change: every SealedSecret is queued at
			// start anyway, and queueing it twice while its first pass is
			// still in the cache's blind spot would decrypt it twice.
			select {
			case <-ctx.Done():
				return
			case <-r.Keys.Ready():
			}
			select {
			case <-changed:
			default:
			}
			for {
				select {
				case <-ctx.Done():
					return
				case <-changed:
				}
				active := map[string]bool{}
				for _, k := range r.Keys.All() {
					active[k.Fingerprint] = true
				}
				var list ssv1.SealedSecretList
				if err := r.Cache.List(ctx, &list); err != nil {
					ctrl.LoggerFrom(ctx).Error(err, "listing SealedSecrets after a key change")
					continue
				}
				for i := range list.Items {
					if needsKeyRecheck(&list.Items[i], active) {
						q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
					}
				}
			}
		}()
		return nil
	})
}

func needsKeyRecheck(ss *ssv1.SealedSecret, active map[string]bool) bool {
	if ss.Status == nil {
		return true
	}
	synced := false
	for _, c := range ss.Status.Conditions {
		if c.Type == ssv1.SealedSecretSynced && c.Status == corev1.ConditionTrue {
			synced = true
		}
	}
	if !synced {
		return true
	}
	for _, fp := range ss.Status.KeyFingerprints {
		if !active[fp] {
			return true
		}
	}
	return false
}
