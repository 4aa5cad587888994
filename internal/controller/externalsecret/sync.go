package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/specerr"
)

// mergeRetry is how often a Merge target that does not exist yet is looked for.
const mergeRetry = time.Minute

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
	if errors.Is(err, storeref.ErrOtherController) {
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
			r.succeed(ctx, es, syncedRV, got.oldest, esv1.ReasonSecretSynced, "Secret retained due to DeletionPolicy=Retain: the store returned no data", "")
			return r.requeue(es, got.oldest), nil
		}
	}

	rend, err := render(ctx, r.APIReader, es, got.data)
	if err != nil {
		// Template errors are built without data (see package template).
		return r.fail(ctx, es, err)
	}
	if policy == esv1.CreatePolicyNone {
		r.succeed(ctx, es, syncedRV, got.oldest, esv1.ReasonSecretSynced, "Secret was synced (creationPolicy None: nothing written)", "")
		return r.requeue(es, got.oldest), nil
	}
	action, valueChanged, err := r.write(ctx, es, name, policy, current, rend)
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
	r.succeed(ctx, es, syncedRV, got.oldest, esv1.ReasonSecretSynced, "Secret was synced", valueChanged)
	return r.requeue(es, got.oldest), nil
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
	r.succeed(ctx, es, syncedRV, readAt, esv1.ReasonSecretDeleted, "Secret was deleted: the store has none of its data (deletionPolicy Delete)", "")
	return r.requeue(es, readAt), nil
}
