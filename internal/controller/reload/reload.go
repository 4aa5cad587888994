package reload

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// FieldOwner names the controller in managedFields, so server-side apply
// (Flux, Argo CD's server-side diff) sees the two annotations as another
// manager's.
const FieldOwner = "keyward-reload"

// KeySecretName is the Secret, in the controller's namespace, holding the
// key of the hashes: kept across restarts and shared by replicas, so a new
// controller hashes alike and restarts nothing.
const KeySecretName = "keyward-reload-hash-key"

// Defaults of --reload-qps and --reload-burst: 1,000 restarts take about
// 4 s, and a mass rotation cannot roll every workload of a cluster at once.
const (
	DefaultQPS   = 200
	DefaultBurst = 200
)

// indexField indexes opted-in workloads by the Secret names they may select.
const indexField = "reload.keyward.dev/secrets"

type (
	eventCreate = event.TypedCreateEvent[client.Object]
	eventUpdate = event.TypedUpdateEvent[client.Object]
	eventDelete = event.TypedDeleteEvent[client.Object]
)

// request names one workload.
type request struct {
	Kind      string
	Namespace string
	Name      string
}

var kinds = []string{"Deployment", "StatefulSet", "DaemonSet"}

func newObject(kind string) client.Object {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}
	case "StatefulSet":
		return &appsv1.StatefulSet{}
	default:
		return &appsv1.DaemonSet{}
	}
}

func newList(kind string) client.ObjectList {
	switch kind {
	case "Deployment":
		return &appsv1.DeploymentList{}
	case "StatefulSet":
		return &appsv1.StatefulSetList{}
	default:
		return &appsv1.DaemonSetList{}
	}
}

func template(o client.Object) *corev1.PodTemplateSpec {
	switch w := o.(type) {
	case *appsv1.Deployment:
		return &w.Spec.Template
	case *appsv1.StatefulSet:
		return &w.Spec.Template
	case *appsv1.DaemonSet:
		return &w.Spec.Template
	}
	return nil
}

// Reconciler restarts opted-in workloads whose used Secret keys changed.
type Reconciler struct {
	// Client reads workloads from the manager's cache and patches them.
	Client client.Client
	// Kube reads Secrets straight from the API server (never cached) and
	// keeps the hash key.
	Kube     corev1client.CoreV1Interface
	Metadata metadata.Interface
	Recorder events.EventRecorder
	Metrics  *Metrics
	// Limiter paces restarts (not the recording of first-seen workloads).
	Limiter *rate.Limiter
	// KeyNamespace holds KeySecretName.
	KeyNamespace string
	// Namespaces limit the Secret watch; empty is cluster-wide.
	Namespaces []string
	Workers    int

	mu sync.Mutex
	// macKey is loaded (or made) on first use.
	macKey []byte
	// digests of the Secrets opted-in workloads select, by namespace/name.
	digests map[string]digest
	// last per-Secret value hashes per workload, to name in the Event the
	// Secrets that changed.
	last map[request]map[string]string
	// secretStores are the metadata informers' stores, by namespace ("" for all).
	secretStores map[string]toolscache.Store
}

// SetupWithManager indexes the workloads, starts the metadata-only Secret
// watch and the controller.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	r.digests = map[string]digest{}
	r.last = map[request]map[string]string{}
	for _, k := range kinds {
		if err := mgr.GetFieldIndexer().IndexField(ctx, newObject(k), indexField, func(o client.Object) []string {
			t := template(o)
			if t == nil {
				return nil
			}
			return Referenced(ParseSelection(o.GetAnnotations()), SecretUses(&t.Spec))
		}); err != nil {
			return fmt.Errorf("indexing %ss by the Secrets they use: %w", k, err)
		}
	}
	c, err := controller.NewTyped[request]("reload", mgr, controller.TypedOptions[request]{
		Reconciler: r, MaxConcurrentReconciles: max(r.Workers, 1),
	})
	if err != nil {
		return err
	}
	for _, k := range kinds {
		kind := k
		enqueue := func(o client.Object, q workqueue.TypedRateLimitingInterface[request]) {
			if ParseSelection(o.GetAnnotations()).Any() {
				q.Add(request{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()})
			}
		}
		h := handler.TypedFuncs[client.Object, request]{
			CreateFunc: func(_ context.Context, e eventCreate, q workqueue.TypedRateLimitingInterface[request]) {
				enqueue(e.Object, q)
			},
			UpdateFunc: func(_ context.Context, e eventUpdate, q workqueue.TypedRateLimitingInterface[request]) {
				if e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion() {
					enqueue(e.ObjectNew, q)
				}
			},
			DeleteFunc: func(_ context.Context, e eventDelete, _ workqueue.TypedRateLimitingInterface[request]) {
				r.forget(request{Kind: kind, Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()})
			},
		}
		if err := c.Watch(source.TypedKind[client.Object, request](mgr.GetCache(), newObject(k), h)); err != nil {
			return fmt.Errorf("watching %ss: %w", k, err)
		}
	}
	return c.Watch(source.TypedFunc[request](r.watchSecrets))
}

// watchSecrets runs metadata-only Secret informers (no data, and of the
// annotations only Reloader's match and ignore are kept) and enqueues the
// workloads indexed under a Secret whose resourceVersion changed.
func (r *Reconciler) watchSecrets(ctx context.Context, q workqueue.TypedRateLimitingInterface[request]) error {
	namespaces := r.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	stores := map[string]toolscache.Store{}
	var names sync.Map
	for _, ns := range namespaces {
		inf := metadatainformer.NewFilteredMetadataInformer(r.Metadata, gvr, ns, 0, toolscache.Indexers{}, nil).Informer()
		if err := inf.SetTransform(stripSecretMeta(&names)); err != nil {
			return fmt.Errorf("watching Secrets' metadata: %w", err)
		}
		changed := func(o any) {
			m, ok := o.(*metav1.PartialObjectMetadata)
			if !ok {
				if t, isTomb := o.(toolscache.DeletedFinalStateUnknown); isTomb {
					m, ok = t.Obj.(*metav1.PartialObjectMetadata)
				}
			}
			if ok {
				r.secretChanged(ctx, m.Namespace, m.Name, q)
			}
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: changed,
			UpdateFunc: func(old, cur any) {
				o, _ := old.(*metav1.PartialObjectMetadata)
				c, _ := cur.(*metav1.PartialObjectMetadata)
				if o == nil || c == nil || o.ResourceVersion != c.ResourceVersion {
					changed(cur)
				}
			},
			DeleteFunc: func(o any) {
				if t, isTomb := o.(toolscache.DeletedFinalStateUnknown); isTomb {
					o = t.Obj
				}
				if m, ok := o.(*metav1.PartialObjectMetadata); ok {
					r.mu.Lock()
					delete(r.digests, m.Namespace+"/"+m.Name)
					r.mu.Unlock()
				}
				changed(o)
			},
		}); err != nil {
			return fmt.Errorf("watching Secrets' metadata: %w", err)
		}
		stores[ns] = inf.GetStore()
		go inf.Run(ctx.Done())
	}
	r.mu.Lock()
	r.secretStores = stores
	r.mu.Unlock()
	return nil
}

// stripSecretMeta keeps what the controller reads of a Secret's metadata:
// with every Secret of the cluster in the store, each byte counts. The
// namespace is shared between the Secrets of a namespace.
func stripSecretMeta(names *sync.Map) toolscache.TransformFunc {
	return func(o any) (any, error) {
		m, ok := o.(*metav1.PartialObjectMetadata)
		if !ok {
			return o, nil
		}
		ns, _ := names.LoadOrStore(m.Namespace, m.Namespace)
		out := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns.(string), Name: m.Name, ResourceVersion: m.ResourceVersion,
		}}
		for _, k := range []string{ReloaderMatch, ReloaderIgnore} {
			if v, ok := m.Annotations[k]; ok {
				if out.Annotations == nil {
					out.Annotations = map[string]string{}
				}
				out.Annotations[k] = v
			}
		}
		return out, nil
	}
}

func (r *Reconciler) secretChanged(ctx context.Context, ns, name string, q workqueue.TypedRateLimitingInterface[request]) {
	for _, k := range kinds {
		list := newList(k)
		if err := r.Client.List(ctx, list, client.InNamespace(ns), client.MatchingFields{indexField: name}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the workloads that use a Secret", "secret", ns+"/"+name)
			continue
		}
		for _, o := range objects(list) {
			q.Add(request{Kind: k, Namespace: ns, Name: o.GetName()})
		}
	}
}

func objects(l client.ObjectList) []client.Object {
	var out []client.Object
	switch l := l.(type) {
	case *appsv1.DeploymentList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.StatefulSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.DaemonSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// secretMeta reports what the metadata watch knows of a Secret.
func (r *Reconciler) secretMeta(ns, name string) (SecretMeta, bool) {
	r.mu.Lock()
	store := r.secretStores[ns]
	if store == nil {
		store = r.secretStores[metav1.NamespaceAll]
	}
	r.mu.Unlock()
	if store == nil {
		return SecretMeta{}, false
	}
	o, ok, err := store.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return SecretMeta{}, false
	}
	m, ok := o.(*metav1.PartialObjectMetadata)
	if !ok {
		return SecretMeta{}, false
	}
	return SecretMeta{
		ResourceVersion: m.ResourceVersion,
		Match:           strings.EqualFold(m.Annotations[ReloaderMatch], "true"),
		Ignore:          strings.EqualFold(m.Annotations[ReloaderIgnore], "true"),
	}, true
}

func (r *Reconciler) forget(req request) {
	r.mu.Lock()
	delete(r.last, req)
	r.mu.Unlock()
}

// key returns the hash key, made on first use by whichever replica gets
// there first.
func (r *Reconciler) key(ctx context.Context) ([]byte, error) {
	r.mu.Lock()
	k := r.macKey
	r.mu.Unlock()
	if k != nil {
		return k, nil
	}
	secrets := r.Kube.Secrets(r.KeyNamespace)
	s, err := secrets.Get(ctx, KeySecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("making the reload hash key: %w", err)
		}
		s, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.KeyNamespace, Name: KeySecretName,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "keyward"}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"key": fresh},
		}, metav1.CreateOptions{FieldManager: FieldOwner})
		if apierrors.IsAlreadyExists(err) {
			s, err = secrets.Get(ctx, KeySecretName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the reload hash key, Secret %s/%s: %w", r.KeyNamespace, KeySecretName, err)
	}
	k = s.Data["key"]
	if len(k) < 16 {
		return nil, fmt.Errorf("Secret %s/%s: field data.key must hold at least 16 bytes", r.KeyNamespace, KeySecretName)
	}
	r.mu.Lock()
	r.macKey = k
	r.mu.Unlock()
	return k, nil
}

// digestOf returns the Secret's digest, reading the Secret only when the
// metadata watch saw a resourceVersion other than the one last read.
func (r *Reconciler) digestOf(ctx context.Context, macKey []byte, ns, name string) (digest, error) {
	id := ns + "/" + name
	meta, known := r.secretMeta(ns, name)
	r.mu.Lock()
	d, have := r.digests[id]
	r.mu.Unlock()
	if have && known && d.resourceVersion == meta.ResourceVersion {
		return d, nil
	}
	r.Metrics.Reads.Inc()
	s, err := r.Kube.Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		d = digest{}
	case err != nil:
		return digest{}, fmt.Errorf("reading Secret %s: %w", id, err)
	default:
		d = newDigest(macKey, s.ResourceVersion, s.Data)
	}
	r.mu.Lock()
	r.digests[id] = d
	r.mu.Unlock()
	return d, nil
}

// Reconcile hashes the keys the workload uses and restarts it when their
// values changed since last seen.
func (r *Reconciler) Reconcile(ctx context.Context, req request) (reconcile.Result, error) {
	obj := newObject(req.Kind)
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: req.Name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	res, err := r.reconcile(ctx, req, obj)
	if err != nil {
		r.Metrics.Errors.WithLabelValues(req.Kind).Inc()
		return res, fmt.Errorf("%s %s/%s: %w", req.Kind, req.Namespace, req.Name, err)
	}
	return res, nil
}

func (r *Reconciler) reconcile(ctx context.Context, req request, obj client.Object) (reconcile.Result, error) {
	sel := ParseSelection(obj.GetAnnotations())
	if !sel.Any() {
		return reconcile.Result{}, nil
	}
	tpl := template(obj)
	selected := Select(sel, SecretUses(&tpl.Spec), func(name string) (SecretMeta, bool) { return r.secretMeta(req.Namespace, name) })
	if len(selected) == 0 {
		return reconcile.Result{}, nil
	}
	macKey, err := r.key(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	digests := make(map[string]digest, len(selected))
	for name := range selected {
		if digests[name], err = r.digestOf(ctx, macKey, req.Namespace, name); err != nil {
			return reconcile.Result{}, err
		}
	}
	set, values, perSecret := hashes(macKey, selected, digests)
	r.mu.Lock()
	before := r.last[req]
	r.last[req] = perSecret
	r.mu.Unlock()

	oldSet, oldValues, seen := parseObserved(obj.GetAnnotations()[ObservedAnnotation])
	switch {
	case seen && oldSet == set && oldValues == values:
		return reconcile.Result{}, nil
	case !seen || oldSet != set:
		// First sight, or the pod template or annotations changed (which
		// rolls the Pods anyway): remember, restart nothing.
		if err := r.patch(ctx, obj, formatObserved(set, values), ""); err != nil {
			return reconcile.Result{}, err
		}
		r.Metrics.Recorded.WithLabelValues(req.Kind).Inc()
		return reconcile.Result{}, nil
	}
	if wait := r.Limiter.Reserve(); wait.OK() {
		if d := wait.Delay(); d > 0 {
			r.Metrics.Throttled.Add(d.Seconds())
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				wait.Cancel()
				return reconcile.Result{}, ctx.Err()
			case <-t.C:
			}
		}
	}
	if err := r.patch(ctx, obj, formatObserved(set, values), values); err != nil {
		// The values seen were not acted on: name them again next time.
		r.mu.Lock()
		r.last[req] = before
		r.mu.Unlock()
		return reconcile.Result{}, err
	}
	r.Metrics.Restarts.WithLabelValues(req.Kind).Inc()
	r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, "Reloaded", "Reload", "%s",
		"restarted: "+describe(selected, changedSecrets(before, perSecret)))
	return reconcile.Result{}, nil
}

// changedSecrets names the Secrets whose hash differs from before (all of
// them when before is unknown, as after a controller restart).
func changedSecrets(before, now map[string]string) []string {
	var out []string
	for n, h := range now {
		if before == nil || before[n] != h {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// describe names Secrets and their used keys, never values.
func describe(selected map[string]*Use, names []string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		u := selected[n]
		what := "all keys"
		if !u.All {
			what = "keys " + strings.Join(u.SortedKeys(), ", ")
		}
		parts = append(parts, "Secret "+n+" ("+what+")")
	}
	return "a used key changed in " + strings.Join(parts, "; ")
}

// patch writes the observed annotation and, to restart, the pod template's
// hash, with a merge patch that touches nothing else and fails if the
// workload changed since it was read.
func (r *Reconciler) patch(ctx context.Context, obj client.Object, observed, restartHash string) error {
	body := map[string]any{"metadata": map[string]any{
		"resourceVersion": obj.GetResourceVersion(),
		"annotations":     map[string]string{ObservedAnnotation: observed},
	}}
	if restartHash != "" {
		body["spec"] = map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{HashAnnotation: restartHash},
		}}}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("patching the reload annotations: %w", err)
	}
	return nil
}
