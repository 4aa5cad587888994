package pushsecret

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
)

func (r *Reconciler) setStatus(ctx context.Context, ps *esv1alpha1.PushSecret, status corev1.ConditionStatus, reason, msg string, synced esv1alpha1.SyncedPushSecretsMap) error {
	// The message is the one the status carries: built without values.
	ctrl.LoggerFrom(ctx).V(1).Info("push status", "ready", status, "reason", reason, "message", msg)
	orig := ps.DeepCopy()
	cond := esv1alpha1.PushSecretStatusCondition{Type: esv1alpha1.PushSecretReady, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}
	for _, c := range ps.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	ps.Status.Conditions = []esv1alpha1.PushSecretStatusCondition{cond}
	if synced != nil {
		ps.Status.SyncedPushSecrets = synced
		ps.Status.RefreshTime = metav1.NewTime(time.Now().Truncate(time.Second))
		ps.Status.SyncedResourceVersion = syncedResourceVersion(ps)
	}
	if equality.Semantic.DeepEqual(orig.Status, ps.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, ps, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status of PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return nil
}

// syncedResourceVersion is ESO's marker of the state last pushed: the
// generation and a hash of labels and annotations, so a force-sync
// annotation shows as pushed once the push after it is done (what `keyward
// rotate pushsecret` waits for).
func syncedResourceVersion(ps *esv1alpha1.PushSecret) string {
	h := sha3.Sum224(fmt.Appendf(nil, "%+v", metav1.ObjectMeta{Labels: ps.Labels, Annotations: ps.Annotations}))
	return fmt.Sprintf("%d-%s", ps.Generation, hex.EncodeToString(h[:]))
}
