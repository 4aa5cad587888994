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
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/secretwrite"
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

	mu    sync.Mutex
	drift map[types.NamespacedName]bool // Secrets changed by someone else
	// written holds what each Secret this controller wrote was made from,
	// until the cache's next event for that Secret: a reconcile before
	// then (a key change, a requeue) finds the cache without the write and
	// would decrypt again.
	written map[types.NamespacedName]writeRecord
}

// writeRecord is what a written Secret was made from.
type writeRecord struct {
	digest string
	fps    []string
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
			return outcomeInSync, r.succeeded(ctx, ss, fps)
		}
	}
	if !drifted {
		if fps, ok := r.justWrote(key, digest, active); ok {
			return outcomeInSync, r.succeeded(ctx, ss, fps)
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

	if err := r.write(ctx, ss, secret, current != nil); err != nil {
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
	return outcomeUnsealed, r.succeeded(ctx, ss, usedFPs)
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

// sourceDigest identifies what a Secret is made from: the SealedSecret's
// UID, its scope label and its spec. Spec and label are public (ciphertext,
// names), so the digest reveals nothing secret.
func sourceDigest(ss *ssv1.SealedSecret) string {
	spec, err := json.Marshal(ss.Spec)
	if err != nil {
		return "" // never equal to a recorded digest: the Secret is rebuilt
	}
	h := sha256.New()
	label := sealing.Label(ss)
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00", digestVersion, ss.UID, label)
	h.Write(spec)
	return hex.EncodeToString(h.Sum(nil))
}

// madeFrom says whether s was written from the SealedSecret with digest,
// with keys that are all still active; it returns those keys' fingerprints.
func madeFrom(s *corev1.Secret, digest string, active []keys.Key) ([]string, bool) {
	if digest == "" || s.Annotations[SourceDigestAnnotation] != digest {
		return nil, false
	}
	fps := splitFingerprints(s.Annotations[KeyFingerprintsAnnotation])
	if !allActive(fps, active) {
		return nil, false // a key was withdrawn: check the values still open
	}
	return fps, true
}

// allActive says whether every fingerprint names an active key.
func allActive(fps []string, active []keys.Key) bool {
	for _, fp := range fps {
		if !slices.ContainsFunc(active, func(k keys.Key) bool { return k.Fingerprint == fp }) {
			return false
		}
	}
	return true
}

func splitFingerprints(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// hints are the keys that opened this SealedSecret before; they are tried
// first, since an RSA-4096 attempt with a wrong key costs as much as one
// with the right one.
func hints(ss *ssv1.SealedSecret, s *corev1.Secret) []string {
	var out []string
	if ss.Status != nil {
		out = append(out, ss.Status.KeyFingerprints...)
	}
	if s != nil {
		out = append(out, splitFingerprints(s.Annotations[KeyFingerprintsAnnotation])...)
	}
	return out
}

// orderKeys puts the hinted keys first, each group newest first, and
// returns the private keys with their fingerprints.
func orderKeys(active []keys.Key, hint []string) ([]*rsa.PrivateKey, []string) {
	ordered := slices.Clone(active)
	slices.SortStableFunc(ordered, func(a, b keys.Key) int {
		ha, hb := slices.Contains(hint, a.Fingerprint), slices.Contains(hint, b.Fingerprint)
		switch {
		case ha && !hb:
			return -1
		case hb && !ha:
			return 1
		}
		return 0
	})
	privs := make([]*rsa.PrivateKey, len(ordered))
	fps := make([]string, len(ordered))
	for i, k := range ordered {
		privs[i], fps[i] = k.Private, k.Fingerprint
	}
	return privs, fps
}

// stamp marks the Secret as ours and records what it was made from.
func stamp(s *corev1.Secret, digest string, fps []string) {
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[UnsealedLabel] = "true"
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[SourceDigestAnnotation] = digest
	s.Annotations[KeyFingerprintsAnnotation] = strings.Join(fps, ",")
}

// deleteSecret deletes the Secret namespace/name once its SealedSecret is
// gone (--old-gc-behavior), but only a Secret this controller made: one
// carrying UnsealedLabel and not a Secret of someone else's that a patch
// annotation let it merge into. Both are read from the API server, not the
// cache: a SealedSecret relabelled out of --label-selector leaves the cache
// too, without being deleted, and the cache holds no annotation but ours.
func (r *Reconciler) deleteSecret(ctx context.Context, key types.NamespacedName) error {
	ss := &ssv1.SealedSecret{}
	switch err := r.APIReader.Get(ctx, key, ss); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading SealedSecret %s: %w", key, err)
	case ss.DeletionTimestamp.IsZero():
		return nil // still there, only no longer served
	}
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading Secret %s: %w", key, err)
	}
	log := ctrl.LoggerFrom(ctx)
	if !madeByUs(s) {
		log.V(1).Info("SealedSecret deleted; its Secret was not made by this controller and stays")
		return nil
	}
	// The preconditions keep a Secret made again or changed meanwhile.
	err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("deleting Secret %s (--old-gc-behavior): %w", key, err)
	}
	log.V(1).Info("SealedSecret deleted; deleted its Secret")
	return nil
}

// madeByUs says the controller wrote s from a SealedSecret of its own
// (labelled, possibly adopted with the managed annotation), as opposed to
// a Secret of someone else's it merged into (patch annotation).
func madeByUs(s *corev1.Secret) bool {
	return s.Labels[UnsealedLabel] == "true" && s.Annotations[ssv1.PatchAnnotation] != "true"
}

// unmanagedError is Bitnami's refusal to overwrite a Secret it does not own.
type unmanagedError struct{ name string }

func (e *unmanagedError) Error() string {
	return fmt.Sprintf("Resource %q already exists and is not managed by SealedSecret", e.name)
}

// write creates the Secret, or updates the existing one as Bitnami does:
// only when this SealedSecret controls it or it is annotated managed or
// patch; patch merges, otherwise data, labels, annotations and owner
// references are replaced. Equal Secrets are not written. known says the
// Secret is in the cache, so a create would only fail.
func (r *Reconciler) write(ctx context.Context, ss *ssv1.SealedSecret, desired *corev1.Secret, known bool) error {
	key := client.ObjectKeyFromObject(desired)
	if !known {
		err := r.Client.Create(ctx, desired.DeepCopy())
		if err == nil {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return secretwrite.Wrap("creating", key.String(), err)
		}
	}
	existing := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, existing); err != nil {
		if apierrors.IsNotFound(err) {
			if err := r.Client.Create(ctx, desired.DeepCopy()); err != nil {
				return secretwrite.Wrap("creating", key.String(), err)
			}
			return nil
		}
		return fmt.Errorf("reading Secret %s: %w", key, err)
	}
	if !metav1.IsControlledBy(existing, ss) &&
		existing.Annotations[ssv1.ManagedAnnotation] != "true" && existing.Annotations[ssv1.PatchAnnotation] != "true" {
		return &unmanagedError{name: key.Name}
	}
	updated := merged(existing, desired)
	if equality.Semantic.DeepEqual(existing, updated) {
		return nil
	}
	if err := r.Client.Update(ctx, updated); err != nil {
		return secretwrite.Wrap("updating", key.String(), err)
	}
	return nil
}

// merged is existing with desired applied: merged in patch mode (owner
// references only when also managed), replaced otherwise. Type is always
// taken; immutable only applies on create.
func merged(existing, desired *corev1.Secret) *corev1.Secret {
	out := existing.DeepCopy()
	if existing.Annotations[ssv1.PatchAnnotation] == "true" {
		out.Data = sealing.MergeMap(out.Data, desired.Data)
		out.Labels = sealing.MergeMap(out.Labels, desired.Labels)
		out.Annotations = sealing.MergeMap(out.Annotations, desired.Annotations)
		if existing.Annotations[ssv1.ManagedAnnotation] == "true" {
			out.OwnerReferences = desired.OwnerReferences
		}
	} else {
		out.Data = desired.Data
		out.Labels = desired.Labels
		out.Annotations = desired.Annotations
		out.OwnerReferences = desired.OwnerReferences
	}
	out.Type = desired.Type
	return out
}

// succeeded records Synced=True.
func (r *Reconciler) succeeded(ctx context.Context, ss *ssv1.SealedSecret, fps []string) error {
	r.Metrics.condition(ss.Namespace, ss.Name, ss.Labels["app.kubernetes.io/instance"], 1)
	return r.setStatus(ctx, ss, corev1.ConditionTrue, "", fps)
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
	return outcomeFailed, r.setStatus(ctx, ss, corev1.ConditionFalse, msg, nil)
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
// recorded key fingerprints (a failed pass does not know them).
func (r *Reconciler) setStatus(ctx context.Context, ss *ssv1.SealedSecret, status corev1.ConditionStatus, msg string, fps []string) error {
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
	if err := r.Client.Status().Patch(ctx, ss, client.MergeFrom(orig)); err != nil {
		r.Metrics.failed(reasonStatus, ss.Namespace)
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile
		}
		return fmt.Errorf("updating status of SealedSecret %s/%s: %w", ss.Namespace, ss.Name, err)
	}
	return nil
}

func (r *Reconciler) markDrift(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drift == nil {
		r.drift = map[types.NamespacedName]bool{}
	}
	r.drift[key] = true
}

func (r *Reconciler) takeDrift(key types.NamespacedName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.drift[key]
	delete(r.drift, key)
	return d
}

func (r *Reconciler) rememberWrite(key types.NamespacedName, digest string, fps []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written == nil {
		r.written = map[types.NamespacedName]writeRecord{}
	}
	r.written[key] = writeRecord{digest: digest, fps: fps}
}

// forgetWrite drops the record of a write: the cache has an event for the
// Secret since (it shows the write, or something newer), or the
// SealedSecret is gone.
func (r *Reconciler) forgetWrite(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.written, key)
}

// justWrote says whether this controller wrote the Secret from digest,
// with keys all still active, and the cache has not caught up yet.
func (r *Reconciler) justWrote(key types.NamespacedName, digest string, active []keys.Key) ([]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.written[key]
	if !ok || digest == "" || w.digest != digest || !allActive(w.fps, active) {
		return nil, false
	}
	return w.fps, true
}
