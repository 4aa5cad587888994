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
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/secretwrite"
	"github.com/keyward/keyward/internal/esrender"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/specerr"
)

const (
	// DefaultRefreshInterval applies when spec.refreshInterval is unset.
	DefaultRefreshInterval = time.Hour
	// indexTargetName indexes ExternalSecrets by the Secret they write.
	indexTargetName = "keyward.externalsecrets.target-name"
	// maxJitterCap bounds how much earlier than its interval a refresh may run.
	maxJitterCap = 2 * time.Minute
	// mergeRetry is how often a Merge target that does not exist yet is looked for.
	mergeRetry = time.Minute
)

// Reconciler syncs ExternalSecrets.
type Reconciler struct {
	// Client reads ExternalSecrets, stores, namespaces and managed Secrets
	// from the manager's cache, and writes.
	Client client.Client
	// APIReader reads what the cache does not hold: Secrets without the
	// managed label, template ConfigMaps and Secrets.
	APIReader client.Reader
	Providers *provider.Manager
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

func refreshInterval(es *esv1.ExternalSecret) time.Duration {
	if es.Spec.RefreshInterval == nil {
		return DefaultRefreshInterval
	}
	return es.Spec.RefreshInterval.Duration
}

// maxJitter is how much earlier than its interval a refresh may run, so
// ExternalSecrets created together drift apart instead of refreshing in
// lock-step (ESO #4231).
func maxJitter(interval time.Duration) time.Duration { return min(interval/10, maxJitterCap) }

// syncedResourceVersion is ESO's marker of the object state last synced:
// the generation and a hash of labels and annotations, so any metadata
// edit (such as a force-sync annotation) counts as a change.
func syncedResourceVersion(es *esv1.ExternalSecret) string {
	return fmt.Sprintf("%d-%s", es.Generation, objectHash(metav1.ObjectMeta{Labels: es.Labels, Annotations: es.Annotations}))
}

// refreshDue decides whether the store must be read again (ESO's rules,
// with room for the jitter).
func refreshDue(es *esv1.ExternalSecret, now time.Time, interval time.Duration, changed bool) bool {
	last := es.Status.RefreshTime.Time
	if last.IsZero() {
		return true
	}
	switch es.Spec.RefreshPolicy {
	case esv1.RefreshPolicyCreatedOnce:
		return false
	case esv1.RefreshPolicyOnChange:
		return changed
	}
	if changed || last.After(now) {
		return true
	}
	if interval == 0 {
		return false
	}
	return !now.Before(last.Add(interval-maxJitter(interval))) && windowsAllow(es.Spec.SyncWindows, now)
}

// secretUpToDate reports whether the current Secret needs no repair.
func secretUpToDate(policy esv1.ExternalSecretCreationPolicy, current *corev1.Secret) bool {
	switch policy {
	case esv1.CreatePolicyOrphan, esv1.CreatePolicyNone:
		// ESO leaves these alone between refreshes.
		return true
	}
	return current != nil && isValid(current)
}

// requeue schedules the next refresh from when the data was read.
func (r *Reconciler) requeue(es *esv1.ExternalSecret, readAt time.Time) ctrl.Result {
	interval := refreshInterval(es)
	if interval == 0 || es.Spec.RefreshPolicy == esv1.RefreshPolicyCreatedOnce || es.Spec.RefreshPolicy == esv1.RefreshPolicyOnChange {
		return ctrl.Result{}
	}
	next := readAt.Add(interval)
	if j := maxJitter(interval); j > 0 {
		next = next.Add(-rand.N(j))
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(r.now()), time.Second)}
}

func (r *Reconciler) sync(ctx context.Context, es *esv1.ExternalSecret) (ctrl.Result, error) {
	now := r.now()
	policy := creationPolicy(es)
	name := targetName(es)
	interval := refreshInterval(es)
	syncedRV := syncedResourceVersion(es)
	changed := es.Status.SyncedResourceVersion != syncedRV

	if es.Spec.Target.Manifest != nil {
		return r.fail(ctx, es, specerr.New("spec.target.manifest: Keyward writes Secrets only, not %s", es.Spec.Target.Manifest.Kind))
	}
	current, err := r.cachedSecret(ctx, es.Namespace, name)
	if err != nil {
		return r.fail(ctx, es, err)
	}
	if !refreshDue(es, now, interval, changed) && secretUpToDate(policy, current) {
		if interval > 0 && !now.Before(es.Status.RefreshTime.Add(interval-maxJitter(interval))) {
			return ctrl.Result{RequeueAfter: time.Minute}, nil // waiting for a sync window
		}
		return r.requeue(es, es.Status.RefreshTime.Time), nil
	}

	// A value may come from the cache if it is younger than half the
	// interval; after an edit or a force-sync annotation, only a fresh read will do.
	maxAge := interval / 2
	if interval == 0 {
		maxAge = r.Providers.ValueCacheMaxAge()
	}
	if changed && es.Status.SyncedResourceVersion != "" {
		maxAge = 0
	}
	f := &fetcher{r: r, es: es, maxAge: maxAge}
	got, err := f.fetch(ctx)
	if errors.Is(err, provider.ErrOtherController) {
		return ctrl.Result{}, nil
	}
	if err != nil {
		return r.fail(ctx, es, err)
	}
	if got.oldest.IsZero() {
		got.oldest = now
	}
	if got.missing > 0 {
		r.Recorder.Eventf(es, nil, corev1.EventTypeNormal, esv1.EventReasonMissingProviderSecret, "Sync",
			"%d entries are missing in the store; handled by deletionPolicy %s", got.missing, es.Spec.Target.DeletionPolicy)
	}

	if len(got.data) == 0 && (len(es.Spec.Data) > 0 || len(es.Spec.DataFrom) > 0) {
		switch es.Spec.Target.DeletionPolicy {
		case esv1.DeletionPolicyDelete:
			return r.deleteEmpty(ctx, es, current, name, syncedRV, got.oldest)
		case esv1.DeletionPolicyMerge:
		default:
			r.succeed(ctx, es, syncedRV, got.oldest, esv1.ReasonSecretSynced, "Secret retained due to DeletionPolicy=Retain: the store returned no data")
			return r.requeue(es, got.oldest), nil
		}
	}

	rend, err := render(ctx, r.APIReader, es, got.data)
	if err != nil {
		// Template errors are built without data (see package template).
		return r.fail(ctx, es, err)
	}
	if policy == esv1.CreatePolicyNone {
		r.succeed(ctx, es, syncedRV, got.oldest, esv1.ReasonSecretSynced, "Secret was synced (creationPolicy None: nothing written)")
		return r.requeue(es, got.oldest), nil
	}
	action, err := r.write(ctx, es, name, policy, current, rend)
	if errors.Is(err, errSecretMissing) {
		r.setReady(ctx, es, corev1.ConditionFalse, esv1.ReasonSecretMissing,
			fmt.Sprintf("Secret %s does not exist; creationPolicy Merge only updates an existing Secret", name), nil)
		return ctrl.Result{RequeueAfter: min(mergeRetry, max(interval, time.Second))}, nil
	}
	if err != nil {
		return r.fail(ctx, es, err)
	}
	if action != "" {
		r.Recorder.Eventf(es, nil, corev1.EventTypeNormal, action, "Sync", "%s Secret %s", action, name)
	}
	r.succeed(ctx, es, syncedRV, got.oldest, esv1.ReasonSecretSynced, "Secret was synced")
	return r.requeue(es, got.oldest), nil
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
func (r *Reconciler) write(ctx context.Context, es *esv1.ExternalSecret, name string, policy esv1.ExternalSecretCreationPolicy, current *corev1.Secret, rend esrender.Result) (string, error) {
	owner := client.FieldOwner(fieldManager(es.Name))
	if current == nil {
		if policy != esv1.CreatePolicyMerge {
			want := desired(es, name, nil, rend)
			if policy == esv1.CreatePolicyOwner {
				if err := setOwner(want, es); err != nil {
					return "", err
				}
			}
			err := r.Client.Create(ctx, want, owner)
			if err == nil {
				return esv1.EventReasonCreated, nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return "", secretwrite.Wrap("creating", es.Namespace+"/"+name, err)
			}
		}
		current = &corev1.Secret{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: es.Namespace, Name: name}, current)
		if apierrors.IsNotFound(err) && policy == esv1.CreatePolicyMerge {
			return "", errSecretMissing
		}
		if err != nil {
			return "", fmt.Errorf("reading Secret %s/%s: %w", es.Namespace, name, err)
		}
	}
	want := desired(es, name, current, rend)
	if policy == esv1.CreatePolicyOwner {
		if err := setOwner(want, es); err != nil {
			return "", err
		}
	}
	if sameSecret(current, want) {
		return "", nil
	}
	if current.Immutable != nil && *current.Immutable && !equality.Semantic.DeepEqual(current.Data, want.Data) {
		return "", specerr.New("Secret %s/%s is immutable and its data would change; delete it to let it be recreated", es.Namespace, name)
	}
	if err := r.Client.Update(ctx, want, owner); err != nil {
		return "", secretwrite.Wrap("updating", es.Namespace+"/"+name, err)
	}
	return esv1.EventReasonUpdated, nil
}

// deleteEmpty handles deletionPolicy Delete once the store has no data left.
func (r *Reconciler) deleteEmpty(ctx context.Context, es *esv1.ExternalSecret, current *corev1.Secret, name, syncedRV string, readAt time.Time) (ctrl.Result, error) {
	if current != nil && metav1.IsControlledBy(current, es) {
		err := r.Client.Delete(ctx, current, client.Preconditions{UID: &current.UID})
		if err != nil && !apierrors.IsNotFound(err) {
			return r.fail(ctx, es, fmt.Errorf("deleting Secret %s/%s: %w", es.Namespace, name, err))
		}
		r.Recorder.Eventf(es, nil, corev1.EventTypeNormal, esv1.EventReasonDeleted, "Sync", "Deleted Secret %s: the store has none of its data", name)
	}
	r.succeed(ctx, es, syncedRV, readAt, esv1.ReasonSecretDeleted, "Secret was deleted: the store has none of its data (deletionPolicy Delete)")
	return r.requeue(es, readAt), nil
}

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

// fail records a failed sync: Ready=False, a Warning event, and a retry
// with backoff. The Secret is left as it is. Error texts name objects,
// fields and keys, never values.
func (r *Reconciler) fail(ctx context.Context, es *esv1.ExternalSecret, err error) (ctrl.Result, error) {
	r.Metrics.sync("error")
	msg := err.Error()
	r.Recorder.Eventf(es, nil, corev1.EventTypeWarning, esv1.EventReasonUpdateFailed, "Sync", "%s", msg)
	if serr := r.setReady(ctx, es, corev1.ConditionFalse, esv1.ReasonSecretSyncedError, msg, nil); serr != nil {
		return ctrl.Result{}, serr
	}
	if specerr.Is(err) {
		// Retrying will not help until the object (or what it reads) changes.
		return r.requeue(es, r.now()), nil
	}
	return ctrl.Result{}, err
}

func (r *Reconciler) succeed(ctx context.Context, es *esv1.ExternalSecret, syncedRV string, readAt time.Time, reason, msg string) {
	r.Metrics.sync("ok")
	err := r.setReady(ctx, es, corev1.ConditionTrue, reason, msg, func(st *esv1.ExternalSecretStatus) {
		st.RefreshTime = metav1.NewTime(readAt.Truncate(time.Second))
		st.SyncedResourceVersion = syncedRV
		st.Binding.Name = targetName(es)
	})
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "writing ExternalSecret status")
	}
}

// setReady sets the Ready condition (and whatever more does), patching the
// status only when it changed.
func (r *Reconciler) setReady(ctx context.Context, es *esv1.ExternalSecret, status corev1.ConditionStatus, reason, msg string, more func(*esv1.ExternalSecretStatus)) error {
	orig := es.DeepCopy()
	cond := esv1.ExternalSecretStatusCondition{Type: esv1.ExternalSecretReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(r.now().Truncate(time.Second))}
	found := false
	for i, c := range es.Status.Conditions {
		if c.Type != esv1.ExternalSecretReady {
			continue
		}
		found = true
		if c.Status == status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
		es.Status.Conditions[i] = cond
	}
	if !found {
		es.Status.Conditions = append(es.Status.Conditions, cond)
	}
	if more != nil {
		more(&es.Status)
	}
	if equality.Semantic.DeepEqual(orig.Status, es.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, es, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status of ExternalSecret %s/%s: %w", es.Namespace, es.Name, err)
	}
	return nil
}

// Metrics of the ExternalSecret controller.
type Metrics struct {
	syncs    *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_externalsecret_syncs_total",
			Help: "ExternalSecret syncs by result (ok, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "keyward_externalsecret_reconcile_duration_seconds",
			Help:    "Duration of ExternalSecret reconciles.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.duration)
	}
	return m
}

func (m *Metrics) sync(result string) {
	if m != nil {
		m.syncs.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) observeDuration(d time.Duration) {
	if m != nil {
		m.duration.Observe(d.Seconds())
	}
}
