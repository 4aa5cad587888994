package externalsecret

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/specerr"
)

// fail records a failed sync: Ready=False, a Warning event, and a retry
// with backoff. The Secret is left as it is. Error texts name objects,
// fields and keys, never values.
func (r *Reconciler) fail(ctx context.Context, es *esv1.ExternalSecret, err error) (ctrl.Result, error) {
	r.Metrics.sync("error")
	msg := err.Error()
	// The message is the one the status carries: built without values.
	ctrl.LoggerFrom(ctx).V(1).Info("sync failed", "reason", esv1.ReasonSecretSyncedError, "message", msg)
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

// succeed records a sync. changed is the Secret's value-changed stamp
// (RFC 3339, "" when unknown): with the next refresh, the rotation status
// `keyward rotate` and dashboards read.
func (r *Reconciler) succeed(ctx context.Context, es *esv1.ExternalSecret, syncedRV string, readAt time.Time, reason, msg, changed string) {
	r.Metrics.sync("ok")
	ctrl.LoggerFrom(ctx).V(1).Info("synced", "reason", reason, "secret", targetName(es))
	err := r.setReady(ctx, es, corev1.ConditionTrue, reason, msg, func(st *esv1.ExternalSecretStatus) {
		st.RefreshTime = metav1.NewTime(readAt.Truncate(time.Second))
		st.SyncedResourceVersion = syncedRV
		st.Binding.Name = targetName(es)
		if t, err := time.Parse(time.RFC3339, changed); err == nil {
			st.ValueChangedTime = &metav1.Time{Time: t}
		}
		// The latest the next refresh runs: requeue may start it up to
		// maxJitter sooner. Derived from the read time alone, so a reconcile
		// that changes nothing writes no status.
		st.NextRefreshTime = nil
		if interval := refreshInterval(es); interval > 0 && es.Spec.RefreshPolicy != esv1.RefreshPolicyCreatedOnce && es.Spec.RefreshPolicy != esv1.RefreshPolicyOnChange {
			st.NextRefreshTime = &metav1.Time{Time: readAt.Truncate(time.Second).Add(interval)}
		}
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
