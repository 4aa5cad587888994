// Package clusterexternalsecret fans a ClusterExternalSecret out into one
// ExternalSecret per matching namespace, and removes the ones whose
// namespace no longer matches.
package clusterexternalsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

const (
	// LabelOwner marks the ExternalSecrets a ClusterExternalSecret made, with its name.
	LabelOwner = "external-secrets.io/clusterexternalsecret-name"
	// DefaultRefreshInterval between re-scans of the namespaces.
	DefaultRefreshInterval = time.Minute
)

// forceSyncAnnotations are mirrored from the ClusterExternalSecret onto
// its ExternalSecrets, so one edit refreshes them all.
var forceSyncAnnotations = []string{esv1.AnnotationForceSync, "external-secrets.io/force-sync"}

// Reconciler reconciles ClusterExternalSecrets.
type Reconciler struct {
	Client  client.Client
	Workers int
}

// SetupWithManager registers the controller; a namespace change re-scans
// every ClusterExternalSecret.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("clusterexternalsecret").
		For(&esv1.ClusterExternalSecret{}).
		Owns(&esv1.ExternalSecret{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.all)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}

func (r *Reconciler) all(ctx context.Context, _ client.Object) []reconcile.Request {
	var list esv1.ClusterExternalSecretList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, c := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: c.Name}})
	}
	return reqs
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ces := &esv1.ClusterExternalSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, ces); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ces.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the ExternalSecrets go by garbage collection
	}
	esName := ces.Spec.ExternalSecretName
	if esName == "" {
		esName = ces.Name
	}
	namespaces, err := r.matching(ctx, ces)
	if err != nil {
		return ctrl.Result{}, err
	}

	var provisioned []string
	var failed []esv1.ClusterExternalSecretNamespaceFailure
	for _, ns := range namespaces {
		if err := r.apply(ctx, ces, ns, esName); err != nil {
			failed = append(failed, esv1.ClusterExternalSecretNamespaceFailure{Namespace: ns, Reason: err.Error()})
			continue
		}
		provisioned = append(provisioned, ns)
	}
	var errs []error
	if err := r.prune(ctx, ces, esName, namespaces); err != nil {
		errs = append(errs, err)
	}

	orig := ces.DeepCopy()
	ces.Status.ExternalSecretName = esName
	ces.Status.ProvisionedNamespaces = provisioned
	ces.Status.FailedNamespaces = failed
	cond := esv1.ClusterExternalSecretStatusCondition{Type: esv1.ClusterExternalSecretReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}
	if len(failed) > 0 {
		cond.Status, cond.Message = corev1.ConditionFalse, "one or more namespaces failed"
	}
	for _, c := range orig.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	ces.Status.Conditions = []esv1.ClusterExternalSecretStatusCondition{cond}
	if !equality.Semantic.DeepEqual(orig.Status, ces.Status) {
		if err := r.Client.Status().Patch(ctx, ces, client.MergeFrom(orig)); err != nil {
			errs = append(errs, fmt.Errorf("patching status of ClusterExternalSecret %s: %w", ces.Name, err))
		}
	}
	every := DefaultRefreshInterval
	if ces.Spec.RefreshInterval != nil && ces.Spec.RefreshInterval.Duration > 0 {
		every = ces.Spec.RefreshInterval.Duration
	}
	return ctrl.Result{RequeueAfter: every}, errors.Join(errs...)
}

// matching lists the namespaces selected by name or by any selector.
func (r *Reconciler) matching(ctx context.Context, ces *esv1.ClusterExternalSecret) ([]string, error) {
	set := map[string]bool{}
	selectors := slices.Clone(ces.Spec.NamespaceSelectors)
	if ces.Spec.NamespaceSelector != nil {
		selectors = append(selectors, ces.Spec.NamespaceSelector)
	}
	var all corev1.NamespaceList
	if err := r.Client.List(ctx, &all); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	active := map[string]*corev1.Namespace{}
	for i := range all.Items {
		if all.Items[i].DeletionTimestamp.IsZero() {
			active[all.Items[i].Name] = &all.Items[i]
		}
	}
	for _, n := range ces.Spec.Namespaces {
		if active[n] != nil {
			set[n] = true
		}
	}
	for i, s := range selectors {
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			return nil, fmt.Errorf("ClusterExternalSecret %s: spec.namespaceSelectors[%d]: %w", ces.Name, i, err)
		}
		if sel.Empty() {
			continue // an empty selector would pick every namespace, which nobody means
		}
		for name, ns := range active {
			if sel.Matches(labels.Set(ns.Labels)) {
				set[name] = true
			}
		}
	}
	out := slices.Collect(maps.Keys(set))
	sort.Strings(out)
	return out, nil
}

// apply creates or updates the ExternalSecret in ns.
func (r *Reconciler) apply(ctx context.Context, ces *esv1.ClusterExternalSecret, ns, name string) error {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(es), es)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading ExternalSecret: %w", err)
	}
	exists := err == nil
	if exists && !metav1.IsControlledBy(es, ces) {
		return errors.New("external secret already exists in namespace")
	}
	orig := es.DeepCopy()
	es.Labels = maps.Clone(ces.Spec.ExternalSecretMetadata.Labels)
	if es.Labels == nil {
		es.Labels = map[string]string{}
	}
	es.Labels[LabelOwner] = ces.Name
	es.Annotations = maps.Clone(ces.Spec.ExternalSecretMetadata.Annotations)
	for _, k := range forceSyncAnnotations {
		if v, ok := ces.Annotations[k]; ok {
			if es.Annotations == nil {
				es.Annotations = map[string]string{}
			}
			es.Annotations[k] = v
		}
	}
	es.Spec = ces.Spec.ExternalSecretSpec
	if err := controllerutil.SetControllerReference(ces, es, r.Client.Scheme()); err != nil {
		return err
	}
	if !exists {
		if err := r.Client.Create(ctx, es); err != nil {
			return fmt.Errorf("creating ExternalSecret: %w", err)
		}
		return nil
	}
	if equality.Semantic.DeepEqual(orig.Spec, es.Spec) && maps.Equal(orig.Labels, es.Labels) && maps.Equal(orig.Annotations, es.Annotations) {
		return nil
	}
	if err := r.Client.Update(ctx, es); err != nil {
		return fmt.Errorf("updating ExternalSecret: %w", err)
	}
	return nil
}

// prune deletes the ExternalSecrets this ClusterExternalSecret made in
// namespaces it no longer selects (or under an old name).
func (r *Reconciler) prune(ctx context.Context, ces *esv1.ClusterExternalSecret, name string, keep []string) error {
	var list esv1.ExternalSecretList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{LabelOwner: ces.Name}); err != nil {
		return fmt.Errorf("listing ExternalSecrets of ClusterExternalSecret %s: %w", ces.Name, err)
	}
	var errs []error
	for i := range list.Items {
		es := &list.Items[i]
		if !metav1.IsControlledBy(es, ces) || (es.Name == name && slices.Contains(keep, es.Namespace)) {
			continue
		}
		if err := r.Client.Delete(ctx, es); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting ExternalSecret %s/%s: %w", es.Namespace, es.Name, err))
		}
	}
	return errors.Join(errs...)
}
