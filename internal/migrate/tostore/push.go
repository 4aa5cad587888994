// Package tostore moves Secrets into an external store: it writes their
// values through the store's provider, writes the ExternalSecrets that read
// them back, applies those and waits until each has taken its Secret over
// in place, byte for byte. With Cleanup it then removes the SealedSecrets
// the Secrets came from, orphaning (never deleting) the Secrets.
//
// Every step reads the current state first, so a rerun after a failure or
// a kill finishes the job and a rerun after success changes nothing.
package tostore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/atomicfile"
	"github.com/keyward/keyward/internal/migrate"
	"github.com/keyward/keyward/internal/migrate/source"
	"github.com/keyward/keyward/internal/provider"
)

// Store is the external store as the push sees it (the CLI hands in the
// controller's storeruntime client for the named store).
type Store interface {
	// Name labels the store in reports and errors (Kind/namespace/name).
	Name() string
	// Read returns the remote secret key; provider.ErrNotFound when absent.
	Read(ctx context.Context, key string) (provider.Secret, error)
	// Write sets property of key, or with property "" the whole secret to a JSON object.
	Write(ctx context.Context, key, property string, value []byte) error
}

// Cluster reaches the API server with the user's own rights.
type Cluster struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// Consumers lists the workloads using a Secret (for plans); may be nil.
type Consumers func(ctx context.Context, ns, name string) ([]string, error)

// Options say where the values go and what is done with the cluster.
type Options struct {
	StoreRef esv1.SecretStoreRef
	Path     *Path
	// APIVersion of the ExternalSecrets written and applied: v1 or v1beta1.
	APIVersion      string
	RefreshInterval time.Duration
	// OutDir receives one <name>.externalsecret.yaml per Secret ("" = none).
	OutDir string
	// Apply applies the ExternalSecrets and waits for them; Cleanup then
	// removes the SealedSecrets that controlled the Secrets.
	Apply, Cleanup bool
	DryRun         bool
	// Timeout bounds the wait for the ExternalSecrets (default 2m).
	Timeout time.Duration
	// Workers push this many Secrets at once (default 8).
	Workers int
	// Poll is the wait's interval (default 1s).
	Poll      time.Duration
	Consumers Consumers

	// byNamespace puts manifests in a folder per namespace, when the
	// Secrets come from several.
	byNamespace bool
}

var (
	sealedSecretGVR = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}
)

func esGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: esv1.GroupVersion.Group, Version: version, Resource: "externalsecrets"}
}

// item is one Secret on its way.
type item struct {
	src     source.Secret
	remotes []remote
	es      *esv1.ExternalSecret
	// handover: the ExternalSecret may be applied (now or after cleanup).
	handover bool
	// sealedBy names the SealedSecret controlling the cluster's Secret.
	sealedBy string
	// settled: the Secret was already the ExternalSecret's, byte-identical,
	// before this run applied anything.
	settled bool
	// readOnly: a SealedSecret keeps the Secret (no --cleanup); the
	// ExternalSecret is applied with creationPolicy None, to prove it
	// reads every value back, and writes nothing.
	readOnly bool
	actions  []migrate.Action
	err      error
}

func (it *item) add(a migrate.Action) {
	a.Secret = it.src.Key()
	it.actions = append(it.actions, a)
}

// Push runs the step over secrets and returns its report. An error means
// some Secret did not finish (each is named); the report still holds what
// was done, and a rerun continues from there.
func Push(ctx context.Context, secrets []source.Secret, store Store, c Cluster, o Options) (*migrate.Report, error) {
	if o.APIVersion == "" {
		o.APIVersion = "v1"
	}
	if o.APIVersion != "v1" && o.APIVersion != "v1beta1" {
		return nil, fmt.Errorf("--api-version: %q is neither v1 nor v1beta1", o.APIVersion)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Hour
	}
	items, err := prepare(secrets, o)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		o.byNamespace = o.byNamespace || it.src.Secret.Namespace != items[0].src.Secret.Namespace
	}
	snap, err := takeSnapshot(ctx, items, c, o)
	if err != nil {
		return nil, err
	}
	// A store that failed once is not asked again in this run: each
	// further Secret would only wait out the same failure.
	var storeFailed atomic.Bool
	run(items, o.Workers, func(it *item) {
		if it.err != nil || it.es == nil {
			return // not pushable: said in prepare
		}
		if storeFailed.Load() {
			it.err = fmt.Errorf("Secret %s: not pushed: %s failed on an earlier Secret", it.src.Key(), store.Name())
			return
		}
		it.err = pushOne(ctx, it, store, c, o, snap)
		var se *storeError
		if errors.As(it.err, &se) {
			storeFailed.Store(true)
		}
	})
	if o.Apply && !o.DryRun {
		wait(ctx, items, c, o)
	}
	rep := &migrate.Report{Step: "push", DryRun: o.DryRun}
	var failed []string
	for _, it := range items {
		for _, a := range it.actions {
			rep.Add(a)
		}
		if it.err != nil {
			failed = append(failed, it.err.Error())
		}
	}
	if len(failed) > 0 {
		return rep, fmt.Errorf("%d of %d Secret(s) not migrated:\n  %s", len(failed), len(items), strings.Join(failed, "\n  "))
	}
	return rep, nil
}

// prepare lays every Secret out in the store and refuses two Secrets that
// would share a remote secret, before anything is written.
func prepare(secrets []source.Secret, o Options) ([]*item, error) {
	items := make([]*item, 0, len(secrets))
	owner := map[string]string{}
	for _, s := range secrets {
		it := &item{src: s}
		items = append(items, it)
		if len(s.Secret.Data) == 0 {
			it.add(migrate.Action{Op: migrate.Skipped, Note: "the Secret has no data to push"})
			continue
		}
		rs, err := layout(o.Path, s.Secret)
		if err != nil {
			// One Secret's unusable value does not hold up the others.
			it.err = err
			continue
		}
		for _, r := range rs {
			if prev, ok := owner[r.Path]; ok && prev != s.Key() {
				return nil, fmt.Errorf("--path %q puts Secrets %s and %s at the same remote key %q; add {{.Namespace}}, {{.Name}} or {{.Key}}", o.Path, prev, s.Key(), r.Path)
			}
			owner[r.Path] = s.Key()
		}
		it.remotes, it.es = rs, externalSecret(s.Secret, rs, o.StoreRef, o.RefreshInterval)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].src.Key() < items[j].src.Key() })
	return items, nil
}

func run(items []*item, workers int, f func(*item)) {
	ch := make(chan *item)
	var wg sync.WaitGroup
	for range min(workers, max(len(items), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				f(it)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// snapshot is the Secrets and ExternalSecrets of the namespaces concerned,
// read once (two lists) rather than two reads per Secret.
type snapshot struct {
	secrets         map[string]map[string]*corev1.Secret
	externalSecrets map[string]map[string]*unstructured.Unstructured
}

func takeSnapshot(ctx context.Context, items []*item, c Cluster, o Options) (*snapshot, error) {
	snap := &snapshot{secrets: map[string]map[string]*corev1.Secret{}, externalSecrets: map[string]map[string]*unstructured.Unstructured{}}
	gvr := esGVR(o.APIVersion)
	for _, it := range items {
		ns := it.src.Secret.Namespace
		if _, done := snap.secrets[ns]; done {
			continue
		}
		secrets, err := retried(ctx, o, func() (map[string]*corev1.Secret, error) { return source.ByName(ctx, c.Kube, ns) })
		if err != nil {
			return nil, err
		}
		ess, err := retried(ctx, o, func() (map[string]*unstructured.Unstructured, error) {
			return listAll(ctx, func(opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
				return c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
			})
		})
		if err != nil {
			return nil, fmt.Errorf("listing ExternalSecrets (%s) in %s: %w", gvr.Version, ns, err)
		}
		snap.secrets[ns], snap.externalSecrets[ns] = secrets, ess
	}
	return snap, nil
}

// storeError is a failure to read the store at all, which every further
// Secret would meet too (a refused write concerns its one Secret only).
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// pushOne takes one Secret as far as it can go before the wait.
func pushOne(ctx context.Context, it *item, store Store, c Cluster, o Options, snap *snapshot) error {
	s := it.src.Secret
	key := it.src.Key()
	live := snap.secrets[s.Namespace][s.Name]
	ctl := controllerOf(live)
	switch {
	case ctl == nil:
		it.handover = true
	case ctl.Kind == "ExternalSecret" && strings.HasPrefix(ctl.APIVersion, esv1.GroupVersion.Group+"/") && ctl.Name == it.es.Name:
		it.handover = true
	case ctl.Kind == "SealedSecret" && strings.HasPrefix(ctl.APIVersion, "bitnami.com/"):
		it.sealedBy = ctl.Name
		it.handover = true
	default:
		return fmt.Errorf("Secret %s is controlled by %s %s; not migrated", key, ctl.Kind, ctl.Name)
	}
	if live != nil && it.src.Origin.Kind != source.FromCluster && !sameData(live.Data, s.Data) {
		return fmt.Errorf("Secret %s: the cluster's Secret holds other data than %s (keys %s); not migrated", key, it.src.Origin.File, strings.Join(diffKeys(live.Data, s.Data), ","))
	}
	var consumers []string
	var err error
	if o.DryRun && o.Consumers != nil {
		if consumers, err = o.Consumers(ctx, s.Namespace, s.Name); err != nil {
			return fmt.Errorf("Secret %s: %w", key, err)
		}
	}

	// 1. The values, into the store.
	for _, r := range it.remotes {
		a := migrate.Action{Op: migrate.Push, Target: store.Name() + ":" + r.Path, Keys: r.Keys(), Consumers: consumers}
		consumers = nil
		have, err := store.Read(ctx, r.Path)
		found := err == nil
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			return &storeError{fmt.Errorf("Secret %s: reading %s: %w", key, r.Path, err)}
		}
		a.Differs, _ = compare(r, have, found)
		if a.Differs == "" {
			a.Op = migrate.Unchanged
			it.add(a)
			continue
		}
		if !o.DryRun {
			if err := write(ctx, store, r); err != nil {
				return fmt.Errorf("Secret %s: pushing to %s: %w", key, r.Path, err)
			}
			// Read back: what the ExternalSecret will fetch must be what the Secret holds.
			have, err := store.Read(ctx, r.Path)
			if err != nil {
				return fmt.Errorf("Secret %s: reading back %s: %w", key, r.Path, err)
			}
			if d, _ := compare(r, have, true); d != "" && !strings.HasPrefix(d, "store holds other keys") {
				return fmt.Errorf("Secret %s: %s %s after writing it: %s", key, store.Name(), r.Path, d)
			}
		}
		it.add(a)
	}

	// 2. The ExternalSecret manifest.
	if o.OutDir != "" {
		if err := writeManifest(it, o); err != nil {
			return err
		}
	}
	if !o.Apply {
		return nil
	}
	// 3. While a SealedSecret controls the Secret, two controllers must not
	// write it: the ExternalSecret first goes in with creationPolicy None,
	// which reads every value from the store and writes nothing. Only once
	// it is Ready (and the store was read back equal to the Secret) is the
	// SealedSecret let go, with --cleanup.
	if it.sealedBy != "" {
		if err := applyES(ctx, it, c, o, snap, esv1.CreatePolicyNone); err != nil {
			return err
		}
		if !o.Cleanup {
			it.readOnly = true
			return nil
		}
		if !o.DryRun {
			if err := waitReadable(ctx, it, c, o); err != nil {
				return err
			}
		}
		if err := releaseSealed(ctx, it, c, o); err != nil {
			return err
		}
		snap = nil // the ExternalSecret just applied is not the snapshot's
	}

	// 4. The ExternalSecret, in the cluster, adopting the Secret.
	return applyES(ctx, it, c, o, snap, esv1.CreatePolicyOwner)
}

// applyES applies the item's ExternalSecret with creationPolicy policy,
// unless snap shows it there already as wanted.
func applyES(ctx context.Context, it *item, c Cluster, o Options, snap *snapshot, policy esv1.ExternalSecretCreationPolicy) error {
	s := it.src.Secret
	key := it.src.Key()
	want := it.es
	if policy != want.Spec.Target.CreationPolicy {
		want = want.DeepCopy()
		want.Spec.Target.CreationPolicy = policy
	}
	gvr := esGVR(o.APIVersion)
	var differs string
	if snap != nil {
		if have := snap.externalSecrets[s.Namespace][it.es.Name]; have != nil {
			same, d := sameSpec(have, want)
			if same {
				live := snap.secrets[s.Namespace][s.Name]
				it.settled = policy == esv1.CreatePolicyOwner && live != nil && metav1.IsControlledBy(live, have) && sameData(live.Data, s.Data) && ready(have) == ""
				it.add(migrate.Action{Op: migrate.Unchanged, Target: "ExternalSecret/" + key, Note: policyNote(policy, it)})
				return nil
			}
			differs = d
		}
	}
	a := migrate.Action{Op: migrate.Apply, Target: "ExternalSecret/" + key, Differs: differs, Note: policyNote(policy, it)}
	if !o.DryRun {
		u, err := toUnstructured(want, o.APIVersion)
		if err != nil {
			return err
		}
		body, err := u.MarshalJSON()
		if err != nil {
			return fmt.Errorf("ExternalSecret %s: %w", key, err)
		}
		force := true
		if _, err := retried(ctx, o, func() (*unstructured.Unstructured, error) {
			return c.Dynamic.Resource(gvr).Namespace(s.Namespace).Patch(ctx, it.es.Name, types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
		}); err != nil {
			return fmt.Errorf("ExternalSecret %s: applying it: %w", key, err)
		}
	}
	it.add(a)
	return nil
}

// policyNote says why an ExternalSecret goes in with creationPolicy None.
func policyNote(policy esv1.ExternalSecretCreationPolicy, it *item) string {
	if policy != esv1.CreatePolicyNone {
		return ""
	}
	return fmt.Sprintf("creationPolicy None while SealedSecret %s controls the Secret: it reads every value and writes nothing; --cleanup hands it over", it.sealedBy)
}

// waitReadable waits until the item's ExternalSecret has synced its
// current generation and is Ready: it read every value from the store.
func waitReadable(ctx context.Context, it *item, c Cluster, o Options) error {
	s := it.src.Secret
	gvr := esGVR(o.APIVersion)
	deadline := time.Now().Add(o.Timeout)
	for {
		why := "the ExternalSecret is not there"
		es, err := c.Dynamic.Resource(gvr).Namespace(s.Namespace).Get(ctx, it.es.Name, metav1.GetOptions{})
		if err == nil {
			why = readyNow(es)
			if why == "" {
				return nil
			}
		} else if !apierrors.IsNotFound(err) {
			why = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ExternalSecret %s: not Ready after %s: %s; the SealedSecret %s is kept, rerun to continue", it.src.Key(), o.Timeout, why, it.sealedBy)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
}

// readyNow is ready for the object's current generation: a Ready
// condition left from an earlier spec does not count.
func readyNow(es *unstructured.Unstructured) string {
	synced, _, _ := unstructured.NestedString(es.Object, "status", "syncedResourceVersion")
	if !strings.HasPrefix(synced, fmt.Sprintf("%d-", es.GetGeneration())) {
		return "the controller has not synced its current spec yet"
	}
	return ready(es)
}

func write(ctx context.Context, store Store, r remote) error {
	if r.Whole {
		v, err := r.wholeValue()
		if err != nil {
			return errors.New("the keys cannot be written as one JSON object")
		}
		return store.Write(ctx, r.Path, "", v)
	}
	for _, k := range r.Keys() {
		if err := store.Write(ctx, r.Path, k, r.Props[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeManifest writes the ExternalSecret file unless it already holds
// exactly that.
func writeManifest(it *item, o Options) error {
	b, err := manifest(it.es, o.APIVersion)
	if err != nil {
		return err
	}
	dir := o.OutDir
	if o.byNamespace {
		dir = filepath.Join(dir, it.es.Namespace)
	}
	path := filepath.Join(dir, it.es.Name+".externalsecret.yaml")
	a := migrate.Action{Op: migrate.WriteExternal, Target: path}
	if !o.DryRun {
		// A run killed while writing leaves atomicfile's temporary copy.
		stale, _ := filepath.Glob(filepath.Join(dir, "."+filepath.Base(path)+".tmp*"))
		for _, f := range stale {
			os.Remove(f)
		}
	}
	cur, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(cur, b):
		a.Op = migrate.Unchanged
		it.add(a)
		return nil
	case err == nil:
		a.Differs = "file exists with other content"
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("Secret %s: %w", it.src.Key(), err)
	}
	if !o.DryRun {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("Secret %s: %w", it.src.Key(), err)
		}
		if err := atomicfile.Write(path, b, 0o644); err != nil {
			return fmt.Errorf("Secret %s: writing %s: %w", it.src.Key(), path, err)
		}
	}
	it.add(a)
	return nil
}

// releaseSealed deletes the SealedSecret controlling the Secret with
// propagationPolicy Orphan and waits until the garbage collector has taken
// its owner reference off the Secret, so that the ExternalSecret can adopt
// it. The Secret itself is never deleted.
func releaseSealed(ctx context.Context, it *item, c Cluster, o Options) error {
	s := it.src.Secret
	key := s.Namespace + "/" + it.sealedBy
	target := "SealedSecret/" + key
	ssc := c.Dynamic.Resource(sealedSecretGVR).Namespace(s.Namespace)
	ss, err := retried(ctx, o, func() (*unstructured.Unstructured, error) { return ssc.Get(ctx, it.sealedBy, metav1.GetOptions{}) })
	switch {
	case apierrors.IsNotFound(err):
		// Deleted by an earlier run; the collector may still be at work.
	case err != nil:
		return fmt.Errorf("%s: reading it: %w", target, err)
	default:
		it.add(migrate.Action{Op: migrate.Delete, Target: target, Note: "propagationPolicy Orphan: the Secret stays"})
		if o.DryRun {
			return nil
		}
		if ss.GetDeletionTimestamp() == nil {
			orphan := metav1.DeletePropagationOrphan
			uid := ss.GetUID()
			_, err := retried(ctx, o, func() (struct{}, error) {
				return struct{}{}, ssc.Delete(ctx, it.sealedBy, metav1.DeleteOptions{PropagationPolicy: &orphan, Preconditions: &metav1.Preconditions{UID: &uid}})
			})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s: deleting it (orphan): %w", target, err)
			}
		}
	}
	if o.DryRun {
		return nil
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		_, ssErr := ssc.Get(ctx, it.sealedBy, metav1.GetOptions{})
		live, err := c.Kube.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if err == nil && apierrors.IsNotFound(ssErr) {
			if ctl := controllerOf(live); ctl == nil || ctl.Kind != "SealedSecret" {
				return nil
			}
		}
		if apierrors.IsNotFound(err) {
			// Not ours to recreate here: the ExternalSecret will.
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: deleted with propagationPolicy Orphan, but Secret %s still names it as owner after %s (is the garbage collector running?); rerun to continue", target, it.src.Key(), o.Timeout)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
}

// wait polls until each applied ExternalSecret is Ready and controls its
// Secret holding exactly the original data. It lists per namespace, so 500
// Secrets cost two requests a round.
func wait(ctx context.Context, items []*item, c Cluster, o Options) {
	pending := map[string][]*item{}
	for _, it := range items {
		if it.err == nil && it.handover && it.es != nil {
			pending[it.src.Secret.Namespace] = append(pending[it.src.Secret.Namespace], it)
		}
	}
	deadline := time.Now().Add(o.Timeout)
	gvr := esGVR(o.APIVersion)
	why := map[*item]string{}
	for len(pending) > 0 {
		for ns, its := range pending {
			ess, err := listAll(ctx, func(opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
				return c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
			})
			if err != nil {
				for _, it := range its {
					why[it] = "listing ExternalSecrets: " + err.Error()
				}
				continue
			}
			secrets, err := source.ByName(ctx, c.Kube, ns)
			if err != nil {
				for _, it := range its {
					why[it] = err.Error()
				}
				continue
			}
			var left []*item
			for _, it := range its {
				es, sec := ess[it.es.Name], secrets[it.src.Secret.Name]
				w := handedOver(it, es, sec)
				if w == "" && it.readOnly {
					it.add(migrate.Action{Op: migrate.Verified, Target: "Secret/" + it.src.Key(),
						Note: fmt.Sprintf("ExternalSecret Ready (creationPolicy None); Secret byte-identical, still SealedSecret %s's until --cleanup hands it over", it.sealedBy)})
					continue
				}
				if w == "" {
					op := migrate.Adopt
					if it.settled {
						op = migrate.Unchanged
					}
					it.add(migrate.Action{Op: op, Target: "Secret/" + it.src.Key(), Note: "ExternalSecret Ready; Secret byte-identical"})
					continue
				}
				why[it] = w
				left = append(left, it)
			}
			if len(left) == 0 {
				delete(pending, ns)
			} else {
				pending[ns] = left
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) || sleep(ctx, o.Poll) != nil {
			break
		}
	}
	for _, its := range pending {
		for _, it := range its {
			it.err = fmt.Errorf("ExternalSecret %s: not handed over after %s: %s; the Secret is kept as it was, rerun to continue", it.src.Key(), o.Timeout, why[it])
		}
	}
}

// handedOver says what is still missing ("" when nothing): the
// ExternalSecret Ready, controlling the Secret, data byte-identical.
func handedOver(it *item, es *unstructured.Unstructured, sec *corev1.Secret) string {
	switch {
	case es == nil:
		return "the ExternalSecret is not there"
	case sec == nil:
		return "the Secret is not there yet"
	}
	if it.readOnly {
		if r := readyNow(es); r != "" {
			return r
		}
		if !sameData(sec.Data, it.src.Secret.Data) {
			return "the Secret differs from the original (keys " + strings.Join(diffKeys(sec.Data, it.src.Secret.Data), ",") + ")"
		}
		return ""
	}
	if r := ready(es); r != "" {
		return r
	}
	if !metav1.IsControlledBy(sec, es) {
		return "the ExternalSecret does not control the Secret yet"
	}
	if !sameData(sec.Data, it.src.Secret.Data) {
		return "the Secret differs from the original (keys " + strings.Join(diffKeys(sec.Data, it.src.Secret.Data), ",") + ")"
	}
	return ""
}

// ready is "" when the object's Ready condition is True, else why not (the
// controller's own message, which never holds a value).
func ready(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		if m["status"] == "True" {
			return ""
		}
		msg, _ := m["message"].(string)
		reason, _ := m["reason"].(string)
		return fmt.Sprintf("not Ready (%s: %s)", reason, msg)
	}
	return "not Ready yet (no condition)"
}

func listAll(ctx context.Context, list func(metav1.ListOptions) (*unstructured.UnstructuredList, error)) (map[string]*unstructured.Unstructured, error) {
	out := map[string]*unstructured.Unstructured{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := list(opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			out[l.Items[i].GetName()] = &l.Items[i]
		}
		if l.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = l.GetContinue()
	}
}

func controllerOf(s *corev1.Secret) *metav1.OwnerReference {
	if s == nil {
		return nil
	}
	return metav1.GetControllerOf(s)
}

func sameData(a, b map[string][]byte) bool { return maps.EqualFunc(a, b, bytes.Equal) }

// diffKeys names the keys whose values differ or that only one side has.
func diffKeys(a, b map[string][]byte) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retried calls f again while the API server is unreachable or busy (a
// restart, a timeout), for at most o.Timeout: giving up at once would
// only leave the same work to a rerun.
func retried[T any](ctx context.Context, o Options, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(o.Timeout)
	delay := 200 * time.Millisecond
	for {
		v, err := f()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return v, err
		}
		if sleep(ctx, delay) != nil {
			return v, err
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// transient says whether err is the API server being away or busy, not a
// refusal.
func transient(err error) bool {
	if apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	var ne net.Error
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}
