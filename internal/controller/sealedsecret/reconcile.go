// Package sealedsecret reconciles SealedSecrets (bitnami.com/v1alpha1) into
// Secrets as Bitnami's controller does: the same Secret shape, owner
// reference, managed/patch/skip-set-owner-references annotations, status,
// events and metrics, so it replaces that controller in place.
//
// What it does differently, for scale: every Secret it writes carries a
// label and a digest of what it was made from, so it watches only those
// Secrets (never every Secret in the cluster) and a SealedSecret whose
// Secret already came from its current spec is settled without decrypting
// anything, after a restart as much as on a resync.
package sealedsecret

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

// Marks on the Secrets this controller writes.
const (
	// UnsealedLabel selects the Secrets the controller watches.
	UnsealedLabel = "sealedsecrets.keyward.dev/unsealed"
	// SourceDigestAnnotation is a digest of the SealedSecret (UID, scope
	// label and spec) the Secret was made from; ciphertext only, no value.
	SourceDigestAnnotation = "sealedsecrets.keyward.dev/source-digest"
	// KeyFingerprintsAnnotation lists the keys that opened it, comma
	// separated, so a settled SealedSecret can report them without
	// decrypting.
	KeyFingerprintsAnnotation = "sealedsecrets.keyward.dev/key-fingerprints"
	// ValueChangedAnnotation is when the Secret's data last changed
	// (RFC 3339, UTC), kept across writes that leave the data as it was,
	// so `keyward audit age` tells a rotated value from a rewritten one.
	ValueChangedAnnotation = "sealedsecrets.keyward.dev/value-changed-at"

	// digestVersion changes when the way Secrets are built changes, so
	// Secrets made by an older build are rebuilt.
	digestVersion = "1"
)

// Event reasons, as Bitnami emits them.
const (
	EventUnsealed        = "Unsealed"
	EventErrUnsealFailed = "ErrUnsealFailed"
	EventErrUpdateFailed = "ErrUpdateFailed"
)

// Keys is what the reconciler needs from the key registry.
type Keys interface {
	// All returns the active keys, newest first.
	All() []keys.Key
	// Ready is closed once the keys are loaded.
	Ready() <-chan struct{}
	// Subscribe signals changes of the key set.
	Subscribe() <-chan struct{}
}

// Reconciler unseals SealedSecrets.
type Reconciler struct {
	// Cache holds SealedSecrets and the labelled Secrets (without their
	// data); SetupWithManager fills it.
	Cache client.Reader
	// Client writes Secrets and status. Never read Secrets through it: the
	// manager's cache would start watching every Secret.
	Client client.Client
	// APIReader reads Secrets directly from the API server.
	APIReader client.Reader
	Keys      Keys
	Recorder  events.EventRecorder
	Metrics   *Metrics

	// UpdateStatus writes status (--update-status).
	UpdateStatus bool
	// AcceptV1Data opens the deprecated spec.data (--accept-deprecated-v1-data).
	AcceptV1Data bool
	// SkipRecreate ignores Secret events, so a deleted Secret is not made
	// again until its SealedSecret changes (--skip-recreate).
	SkipRecreate bool
	// OldGCBehavior deletes the Secret of a deleted SealedSecret instead of
	// leaving it to the garbage collector (--old-gc-behavior); only a
	// Secret this controller made (see deleteSecret).
	OldGCBehavior bool
	// Namespaces limits the SealedSecrets served, and the Secrets watched,
	// to these namespaces; empty serves every namespace (--all-namespaces,
	// --additional-namespaces). SetupWithManager reads it.
	Namespaces []string
	// LabelSelector limits the SealedSecrets served to those it matches;
	// nil serves all (--label-selector). SetupWithManager reads it.
	LabelSelector labels.Selector
	// Workers is the number of SealedSecrets reconciled at once.
	Workers int
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// statusByUpdate is set once patching status was Forbidden (see
	// writeStatus).
	statusByUpdate atomic.Bool

	mu    sync.Mutex
	drift map[types.NamespacedName]bool // Secrets changed by someone else
	// written holds what each Secret this controller wrote was made from,
	// until the cache's next event for that Secret: a reconcile before
	// then (a key change, a requeue) finds the cache without the write and
	// would decrypt again.
	written map[types.NamespacedName]writeRecord
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	outcome := outcomeError
	defer func() { r.Metrics.observe(outcome, time.Since(start)) }()

	// Before the first key list an empty registry would fail everything.
	select {
	case <-r.Keys.Ready():
	case <-ctx.Done():
		return ctrl.Result{}, ctx.Err()
	}
	ss := &ssv1.SealedSecret{}
	if err := r.Cache.Get(ctx, req.NamespacedName, ss); err != nil {
		if apierrors.IsNotFound(err) {
			// The Secret goes with its owner reference (garbage collection),
			// or with --old-gc-behavior by our hand.
			r.Metrics.forget(req.Namespace, req.Name)
			r.takeDrift(req.NamespacedName)
			r.forgetWrite(req.NamespacedName)
			outcome = outcomeDeleted
			if r.OldGCBehavior {
				if err := r.deleteSecret(ctx, req.NamespacedName); err != nil {
					outcome = outcomeError
					return ctrl.Result{}, err
				}
			}
			return ctrl.Result{}, nil
		}
		r.Metrics.failed(reasonFetch, req.Namespace)
		return ctrl.Result{}, fmt.Errorf("reading SealedSecret %s: %w", req.NamespacedName, err)
	}
	if !ss.DeletionTimestamp.IsZero() {
		outcome = outcomeDeleted
		return ctrl.Result{}, nil
	}
	var err error
	outcome, err = r.reconcile(ctx, ss)
	return ctrl.Result{}, err
}

func (r *Reconciler) reconcile(ctx context.Context, ss *ssv1.SealedSecret) (string, error) {
	key := client.ObjectKeyFromObject(ss)
	if ss.Spec.Data != nil && !r.AcceptV1Data {
		return r.fail(ctx, ss, reasonUnseal, EventErrUnsealFailed,
			errors.New("deprecated spec.data is not accepted (--accept-deprecated-v1-data=false); reseal with encryptedData"))
	}
	active := r.Keys.All()
	digest := sourceDigest(ss)
	current, err := r.cachedSecret(ctx, key)
	if err != nil {
		return outcomeError, err
	}
	drifted := r.takeDrift(key)
	if current != nil && !drifted {
		if fps, ok := madeFrom(current, digest, active); ok {
			return outcomeInSync, r.succeeded(ctx, ss, fps, current.Annotations[ValueChangedAnnotation])
		}
	}
	if !drifted {
		if fps, ok := r.justWrote(key, digest, active); ok {
			return outcomeInSync, r.succeeded(ctx, ss, fps, "")
		}
	}

	privs, fps := orderKeys(active, hints(ss, current))
	r.Metrics.unsealed()
	secret, used, err := sealing.UnsealUsing(ss, privs)
	if err != nil {
		return r.fail(ctx, ss, reasonUnseal, EventErrUnsealFailed, err)
	}
	usedFPs := make([]string, 0, len(used))
	for _, i := range used {
		usedFPs = append(usedFPs, fps[i])
	}
	slices.Sort(usedFPs)
	usedFPs = slices.Compact(usedFPs)
	stamp(secret, digest, usedFPs)

	changed, err := r.write(ctx, ss, secret, current != nil)
	if err != nil {
		var unmanaged *unmanagedError
		switch {
		case errors.As(err, &unmanaged):
			return r.fail(ctx, ss, reasonUnmanaged, EventErrUpdateFailed, err)
		case apierrors.IsConflict(err):
			return outcomeError, err // someone wrote in between: retry quietly
		case strings.Contains(err.Error(), "field is immutable when `immutable` is set"):
			return r.fail(ctx, ss, reasonUpdate, EventErrUpdateFailed, err) // retrying cannot help
		}
		if _, ferr := r.fail(ctx, ss, reasonUpdate, EventErrUpdateFailed, err); ferr != nil {
			return outcomeError, errors.Join(err, ferr)
		}
		return outcomeError, err
	}
	r.rememberWrite(key, digest, usedFPs)
	r.Recorder.Eventf(ss, nil, corev1.EventTypeNormal, EventUnsealed, "Unseal", "SealedSecret unsealed successfully")
	ctrl.LoggerFrom(ctx).V(1).Info("unsealed", "keys", usedFPs)
	return outcomeUnsealed, r.succeeded(ctx, ss, usedFPs, changed)
}

// cachedSecret returns the labelled Secret from the cache, or nil.
func (r *Reconciler) cachedSecret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := r.Cache.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading Secret %s from the cache: %w", key, err)
	}
	return s, nil
}
