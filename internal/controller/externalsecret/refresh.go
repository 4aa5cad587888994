package externalsecret

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

const (
	// DefaultRefreshInterval applies when spec.refreshInterval is unset.
	DefaultRefreshInterval = time.Hour
	// maxJitterCap bounds how much earlier than its interval a refresh may run.
	maxJitterCap = 2 * time.Minute
)

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
