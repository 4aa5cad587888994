// Package pushsecret writes values of a Kubernetes Secret into external
// stores (PushSecret, external-secrets.io/v1alpha1). The source Secret is
// read directly on each refresh rather than watched, so the controller
// holds no cache of unlabelled Secrets.
package pushsecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/esrender"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/rewrite"
)

// DefaultRefreshInterval applies when spec.refreshInterval is unset.
const DefaultRefreshInterval = time.Hour

// Reconciler reconciles PushSecrets.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Providers *provider.Manager
	Class     string
	Workers   int
}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("pushsecret").
		For(&esv1alpha1.PushSecret{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}

// target is one store a PushSecret writes to.
type target struct {
	label string // "Kind/name", the key of status.syncedPushSecrets
	store *provider.Store
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ps := &esv1alpha1.PushSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, ps); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ps.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, ps)
	}
	deleteRemote := ps.Spec.DeletionPolicy == esv1alpha1.PushSecretDeletionPolicyDelete
	if deleteRemote != controllerutil.ContainsFinalizer(ps, esv1alpha1.FinalizerPushSecret) {
		orig := ps.DeepCopy()
		if deleteRemote {
			controllerutil.AddFinalizer(ps, esv1alpha1.FinalizerPushSecret)
		} else {
			controllerutil.RemoveFinalizer(ps, esv1alpha1.FinalizerPushSecret)
		}
		if err := r.Client.Patch(ctx, ps, client.MergeFrom(orig)); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating finalizers of PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
		}
	}

	synced, err := r.push(ctx, ps)
	if err != nil {
		return ctrl.Result{}, errors.Join(r.setStatus(ctx, ps, corev1.ConditionFalse, esv1alpha1.ReasonPushErrored, err.Error(), nil), err)
	}
	if deleteRemote {
		if err := r.deleteStale(ctx, ps, ps.Status.SyncedPushSecrets, synced); err != nil {
			return ctrl.Result{}, errors.Join(r.setStatus(ctx, ps, corev1.ConditionFalse, esv1alpha1.ReasonPushErrored, err.Error(), synced), err)
		}
	}
	if err := r.setStatus(ctx, ps, corev1.ConditionTrue, esv1alpha1.ReasonPushSynced, "PushSecret synced successfully", synced); err != nil {
		return ctrl.Result{}, err
	}
	every := DefaultRefreshInterval
	if ps.Spec.RefreshInterval != nil {
		every = ps.Spec.RefreshInterval.Duration
	}
	if every == 0 {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: every}, nil
}

// push writes every entry to every store and returns what was written.
func (r *Reconciler) push(ctx context.Context, ps *esv1alpha1.PushSecret) (esv1alpha1.SyncedPushSecretsMap, error) {
	if ps.Spec.Selector.GeneratorRef != nil {
		return nil, errors.New("spec.selector.generatorRef: generators are not supported by Keyward")
	}
	values, err := r.source(ctx, ps)
	if err != nil {
		return nil, err
	}
	rendered, err := esrender.Render(ctx, r.APIReader, ps.Namespace, ps.Spec.Template, values)
	if err != nil {
		return nil, err
	}
	values = rendered.Data
	targets, err := r.targets(ctx, ps)
	if err != nil {
		return nil, err
	}
	synced := esv1alpha1.SyncedPushSecretsMap{}
	for _, t := range targets {
		synced[t.label] = map[string]esv1alpha1.PushSecretData{}
		for i, d := range ps.Spec.Data {
			field := fmt.Sprintf("spec.data[%d]", i)
			value, err := pick(values, d.Match.SecretKey)
			if err != nil {
				return nil, fmt.Errorf("%s.match.secretKey: %w", field, err)
			}
			if err := r.write(ctx, ps, t.store, d.Match.RemoteRef, value); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			synced[t.label][remoteID(d.Match.RemoteRef)] = d
		}
		for i, dt := range ps.Spec.DataTo {
			if dt.StoreRef != nil && dt.StoreRef.Name != "" && t.label != storeLabel(dt.StoreRef.Kind, dt.StoreRef.Name) {
				continue
			}
			entries, err := dataTo(values, dt, fmt.Sprintf("spec.dataTo[%d]", i))
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if err := r.write(ctx, ps, t.store, e.Match.RemoteRef, e.value); err != nil {
					return nil, fmt.Errorf("spec.dataTo[%d]: %w", i, err)
				}
				synced[t.label][remoteID(e.Match.RemoteRef)] = e.PushSecretData
			}
		}
	}
	return synced, nil
}

// source reads the Secret the PushSecret selects (directly: it carries no label we watch).
func (r *Reconciler) source(ctx context.Context, ps *esv1alpha1.PushSecret) (map[string][]byte, error) {
	sel := ps.Spec.Selector.Secret
	if sel == nil || (sel.Name == "" && sel.Selector == nil) {
		return nil, errors.New("spec.selector.secret: name a Secret or give a selector")
	}
	if sel.Name != "" {
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ps.Namespace, Name: sel.Name}, &s); err != nil {
			return nil, fmt.Errorf("spec.selector.secret.name: reading Secret %s/%s: %w", ps.Namespace, sel.Name, err)
		}
		return s.Data, nil
	}
	ls, err := metav1.LabelSelectorAsSelector(sel.Selector)
	if err != nil {
		return nil, fmt.Errorf("spec.selector.secret.selector: %w", err)
	}
	var list corev1.SecretList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(ps.Namespace), client.MatchingLabelsSelector{Selector: ls}); err != nil {
		return nil, fmt.Errorf("spec.selector.secret.selector: listing Secrets: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	out := map[string][]byte{}
	for _, s := range list.Items {
		maps.Copy(out, s.Data)
	}
	return out, nil
}

// targets resolves spec.secretStoreRefs (by name or label selector).
func (r *Reconciler) targets(ctx context.Context, ps *esv1alpha1.PushSecret) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	for i, ref := range ps.Spec.SecretStoreRefs {
		field := fmt.Sprintf("spec.secretStoreRefs[%d]", i)
		names := []string{ref.Name}
		if ref.Name == "" {
			if ref.LabelSelector == nil {
				return nil, fmt.Errorf("%s: give a name or a labelSelector", field)
			}
			var err error
			if names, err = r.storesBySelector(ctx, ps.Namespace, ref); err != nil {
				return nil, fmt.Errorf("%s.labelSelector: %w", field, err)
			}
		}
		for _, name := range names {
			kind := ref.Kind
			if kind == "" {
				kind = esv1.SecretStoreKind
			}
			label := storeLabel(kind, name)
			if seen[label] {
				continue
			}
			seen[label] = true
			gs, err := provider.ResolveStore(ctx, r.Client, esv1.SecretStoreRef{Name: name, Kind: kind}, ps.Namespace, r.Class)
			if errors.Is(err, provider.ErrOtherController) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			s, err := r.Providers.Store(ctx, gs, ps.Namespace)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			if !s.CanWrite() {
				return nil, fmt.Errorf("%s: %s cannot be written to", field, s.Name())
			}
			out = append(out, target{label: label, store: s})
		}
	}
	return out, nil
}

func (r *Reconciler) storesBySelector(ctx context.Context, ns string, ref esv1alpha1.PushSecretStoreRef) ([]string, error) {
	sel, err := metav1.LabelSelectorAsSelector(ref.LabelSelector)
	if err != nil {
		return nil, err
	}
	var names []string
	if ref.Kind == esv1.ClusterSecretStoreKind {
		var list esv1.ClusterSecretStoreList
		if err := r.Client.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
	} else {
		var list esv1.SecretStoreList
		if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func storeLabel(kind, name string) string {
	if kind == "" {
		kind = esv1.SecretStoreKind
	}
	return kind + "/" + name
}

func remoteID(ref esv1alpha1.PushSecretRemoteRef) string {
	if ref.Property == "" {
		return ref.RemoteKey
	}
	return ref.RemoteKey + "/" + ref.Property
}

// pick returns one key of the Secret, or with no key the whole Secret as a JSON object.
func pick(values map[string][]byte, key string) ([]byte, error) {
	if key == "" {
		m := make(map[string]string, len(values))
		for k, v := range values {
			m[k] = string(v)
		}
		return json.Marshal(m)
	}
	v, ok := values[key]
	if !ok {
		return nil, fmt.Errorf("the source Secret has no key %q", key)
	}
	return v, nil
}

type dataToEntry struct {
	esv1alpha1.PushSecretData
	value []byte
}

// dataTo expands a dataTo entry: matched keys, renamed by its rewrites, go
// each to a remote key of their own, or together into remoteKey.
func dataTo(values map[string][]byte, dt esv1alpha1.PushSecretDataTo, field string) ([]dataToEntry, error) {
	var re *regexp.Regexp
	if dt.Match != nil && dt.Match.RegExp != "" {
		var err error
		if re, err = regexp.Compile(dt.Match.RegExp); err != nil {
			return nil, fmt.Errorf("%s.match.regexp: %w", field, err)
		}
	}
	matched := map[string][]byte{}
	for k, v := range values {
		if re == nil || re.MatchString(k) {
			matched[k] = v
		}
	}
	renamed := matched
	// Nothing matched: there is nothing to rename, and the rules go unchecked.
	if len(matched) > 0 {
		for i, rw := range dt.Rewrite {
			if rw.Regexp == nil {
				return nil, fmt.Errorf("%s.rewrite[%d]: only regexp rewrites are supported for dataTo", field, i)
			}
		}
		var err error
		if renamed, err = rewrite.Apply(matched, dt.Rewrite, field); err != nil {
			return nil, err
		}
	}
	if dt.RemoteKey != "" {
		b, err := pick(renamed, "")
		if err != nil {
			return nil, err
		}
		return []dataToEntry{{PushSecretData: esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: dt.RemoteKey}}}, value: b}}, nil
	}
	keys := make([]string, 0, len(renamed))
	for k := range renamed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]dataToEntry, 0, len(keys))
	for _, k := range keys {
		// Each key becomes a remote secret of the same name holding it as a property.
		out = append(out, dataToEntry{
			PushSecretData: esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{SecretKey: k, RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: k, Property: k}}},
			value:          renamed[k],
		})
	}
	return out, nil
}

// write pushes one value, honouring updatePolicy IfNotExists.
func (r *Reconciler) write(ctx context.Context, ps *esv1alpha1.PushSecret, s *provider.Store, ref esv1alpha1.PushSecretRemoteRef, value []byte) error {
	if ps.Spec.UpdatePolicy == esv1alpha1.PushSecretUpdatePolicyIfNotExists {
		sec, _, err := s.Read(ctx, ref.RemoteKey, "", 0)
		if err == nil {
			if ref.Property == "" {
				return nil
			}
			if _, perr := sec.Property(ref.Property); perr == nil {
				return nil
			}
		} else if !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	return s.Write(ctx, ref.RemoteKey, ref.Property, value)
}

// deleteStale removes remote values pushed before but not any more.
func (r *Reconciler) deleteStale(ctx context.Context, ps *esv1alpha1.PushSecret, before, now esv1alpha1.SyncedPushSecretsMap) error {
	var errs []error
	for label, entries := range before {
		for id, d := range entries {
			if _, still := now[label][id]; still {
				continue
			}
			if err := r.deleteOne(ctx, ps, label, d.Match.RemoteRef); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) deleteOne(ctx context.Context, ps *esv1alpha1.PushSecret, label string, ref esv1alpha1.PushSecretRemoteRef) error {
	kind, name, ok := strings.Cut(label, "/")
	if !ok {
		return nil
	}
	gs, err := provider.ResolveStore(ctx, r.Client, esv1.SecretStoreRef{Name: name, Kind: kind}, ps.Namespace, r.Class)
	if apierrors.IsNotFound(errors.Unwrap(err)) || errors.Is(err, provider.ErrOtherController) {
		return nil // the store is gone or not ours: nothing we can delete
	}
	if err != nil {
		return err
	}
	s, err := r.Providers.Store(ctx, gs, ps.Namespace)
	if err != nil {
		return err
	}
	return s.Delete(ctx, ref.RemoteKey, ref.Property)
}

// finalize deletes everything pushed (deletionPolicy Delete) and lets go.
func (r *Reconciler) finalize(ctx context.Context, ps *esv1alpha1.PushSecret) error {
	if !controllerutil.ContainsFinalizer(ps, esv1alpha1.FinalizerPushSecret) {
		return nil
	}
	if err := r.deleteStale(ctx, ps, ps.Status.SyncedPushSecrets, nil); err != nil {
		return errors.Join(r.setStatus(ctx, ps, corev1.ConditionFalse, esv1alpha1.ReasonPushErrored, err.Error(), ps.Status.SyncedPushSecrets), err)
	}
	orig := ps.DeepCopy()
	controllerutil.RemoveFinalizer(ps, esv1alpha1.FinalizerPushSecret)
	if err := r.Client.Patch(ctx, ps, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer from PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return nil
}

func (r *Reconciler) setStatus(ctx context.Context, ps *esv1alpha1.PushSecret, status corev1.ConditionStatus, reason, msg string, synced esv1alpha1.SyncedPushSecretsMap) error {
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
		ps.Status.SyncedResourceVersion = fmt.Sprintf("%d", ps.Generation)
	}
	if equality.Semantic.DeepEqual(orig.Status, ps.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, ps, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status of PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return nil
}
