package sealedsecret

// The outcome of a pass, in status, Events and metrics.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
)

// succeeded records Synced=True. changed is the Secret's value-changed
// stamp (RFC 3339; "" keeps what the status says).
func (r *Reconciler) succeeded(ctx context.Context, ss *ssv1.SealedSecret, fps []string, changed string) error {
	r.Metrics.condition(ss.Namespace, ss.Name, ss.Labels["app.kubernetes.io/instance"], 1)
	var at *metav1.Time
	if t, err := time.Parse(time.RFC3339, changed); err == nil {
		at = &metav1.Time{Time: t}
	}
	return r.setStatus(ctx, ss, corev1.ConditionTrue, "", fps, at)
}

// fail records Synced=False with err as the message, warns with an event,
// and leaves any existing Secret exactly as it is. The failure is not
// retried: a ciphertext that does not open now opens only with another key,
// and a key change requeues every SealedSecret that is not synced.
func (r *Reconciler) fail(ctx context.Context, ss *ssv1.SealedSecret, reason, event string, err error) (string, error) {
	msg := message(err)
	r.Metrics.failed(reason, ss.Namespace)
	r.Metrics.condition(ss.Namespace, ss.Name, ss.Labels["app.kubernetes.io/instance"], -1)
	note := msg
	if event == EventErrUnsealFailed {
		note = "Failed to unseal: " + msg
	}
	r.Recorder.Eventf(ss, nil, corev1.EventTypeWarning, event, "Unseal", "%s", note)
	ctrl.LoggerFrom(ctx).Info("SealedSecret not synced", "reason", reason, "error", msg)
	return outcomeFailed, r.setStatus(ctx, ss, corev1.ConditionFalse, msg, nil, nil)
}

// message is the status text for err. Errors from unsealing name items and
// causes, never values.
func message(err error) string {
	msg := err.Error()
	if errors.Is(err, sealing.ErrNoKey) {
		msg += " (the value was sealed for a key this controller does not have, for another name or namespace, or was altered)"
	}
	return msg
}

// setStatus writes the Synced condition when it changed or the generation
// moved on; lastUpdateTime is the time of that write. fps nil keeps the
// recorded key fingerprints (a failed pass does not know them), changed nil
// the recorded value-change time.
func (r *Reconciler) setStatus(ctx context.Context, ss *ssv1.SealedSecret, status corev1.ConditionStatus, msg string, fps []string, changed *metav1.Time) error {
	if !r.UpdateStatus {
		return nil
	}
	var prev *ssv1.SealedSecretCondition
	if ss.Status != nil {
		for i := range ss.Status.Conditions {
			if ss.Status.Conditions[i].Type == ssv1.SealedSecretSynced {
				prev = &ss.Status.Conditions[i]
			}
		}
	}
	if ss.Status != nil && prev != nil && ss.Status.ObservedGeneration == ss.Generation &&
		prev.Status == status && prev.Message == msg && (fps == nil || slices.Equal(ss.Status.KeyFingerprints, fps)) {
		// changed alone never forces a write: a value changes only with a
		// new generation, and under Bitnami's CRD the field is pruned, so
		// comparing it would write the status at every pass.
		return nil
	}
	orig := ss.DeepCopy()
	now := metav1.NewTime(r.now())
	cond := ssv1.SealedSecretCondition{Type: ssv1.SealedSecretSynced, Status: status, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	if prev != nil && prev.Status == status {
		cond.LastTransitionTime = prev.LastTransitionTime
	}
	if ss.Status == nil {
		ss.Status = &ssv1.SealedSecretStatus{}
	}
	st := ss.Status
	conds := []ssv1.SealedSecretCondition{cond}
	for _, c := range st.Conditions {
		if c.Type != ssv1.SealedSecretSynced {
			conds = append(conds, c)
		}
	}
	st.Conditions = conds
	st.ObservedGeneration = ss.Generation
	if fps != nil {
		st.KeyFingerprints = fps
	}
	if changed != nil {
		st.ValueChangedTime = changed
	}
	if err := r.writeStatus(ctx, ss, orig); err != nil {
		r.Metrics.failed(reasonStatus, ss.Namespace)
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile
		}
		return fmt.Errorf("updating status of SealedSecret %s/%s: %w", ss.Namespace, ss.Name, err)
	}
	return nil
}

// writeStatus patches the status, as Keyward's RBAC allows. Bitnami's
// grants update on sealedsecrets/status and not patch: run with it, the
// first Forbidden patch switches this controller to updates.
func (r *Reconciler) writeStatus(ctx context.Context, ss, orig *ssv1.SealedSecret) error {
	if !r.statusByUpdate.Load() {
		err := r.Client.Status().Patch(ctx, ss, client.MergeFrom(orig))
		if !apierrors.IsForbidden(err) {
			return err
		}
		r.statusByUpdate.Store(true)
	}
	return r.Client.Status().Update(ctx, ss)
}
