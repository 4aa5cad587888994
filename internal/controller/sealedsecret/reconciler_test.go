package sealedsecret

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/test/testkeys"
)

const planted = "planted-value-4711"

func testKey(t *testing.T, bits string) keys.Key {
	t.Helper()
	k := testkeys.RSA(t, bits)
	return keys.Key{Fingerprint: keys.Fingerprint(&k.PublicKey), Private: k}
}

type fakeKeys struct{ keys []keys.Key }

func (f *fakeKeys) All() []keys.Key { return f.keys }
func (f *fakeKeys) Ready() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
func (f *fakeKeys) Subscribe() <-chan struct{} { return nil }

// labelledOnly reads Secrets as the controller's cache does: only those
// carrying UnsealedLabel, without data.
type labelledOnly struct{ client.Reader }

func (l labelledOnly) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := l.Reader.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if s, ok := obj.(*corev1.Secret); ok {
		if s.Labels[UnsealedLabel] != "true" {
			return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
		}
		stripSecret(s)
	}
	return nil
}

type harness struct {
	r       *Reconciler
	c       client.Client
	events  *events.FakeRecorder
	metrics *prometheus.Registry
}

func newHarness(t *testing.T, active []keys.Key, objs ...client.Object) *harness {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := ssv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&ssv1.SealedSecret{}).Build()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(100)
	return &harness{
		r: &Reconciler{Cache: labelledOnly{c}, Client: c, APIReader: c, Keys: &fakeKeys{active}, Recorder: rec, Metrics: m,
			UpdateStatus: true, AcceptV1Data: true},
		c: c, events: rec, metrics: reg,
	}
}

func (h *harness) reconcile(t *testing.T, ss *ssv1.SealedSecret) {
	t.Helper()
	if _, err := h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ss)}); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
}

func (h *harness) unseals() float64 { return testutil.ToFloat64(h.r.Metrics.unsealRequests) }

func (h *harness) secret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		t.Fatal(err)
	}
	return s
}

func (h *harness) synced(t *testing.T, ss *ssv1.SealedSecret) (*ssv1.SealedSecret, *ssv1.SealedSecretCondition) {
	t.Helper()
	got := &ssv1.SealedSecret{}
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(ss), got); err != nil {
		t.Fatal(err)
	}
	if got.Status == nil || len(got.Status.Conditions) == 0 {
		return got, nil
	}
	return got, &got.Status.Conditions[0]
}

func (h *harness) eventList() []string {
	var out []string
	for {
		select {
		case e := <-h.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// sealed is a SealedSecret prod/db sealed for k, with a planted value.
func sealed(t *testing.T, k keys.Key, mutate ...func(*corev1.Secret)) *ssv1.SealedSecret {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db", Labels: map[string]string{"app": "api"}},
		Data:       map[string][]byte{"password": []byte(planted), "user": []byte("admin")},
	}
	for _, m := range mutate {
		m(s)
	}
	ss, err := sealing.Seal(s, &k.Private.PublicKey, sealing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss.UID = "ss-uid"
	ss.Generation = 1
	return ss
}

func ownedBy(ss *ssv1.SealedSecret) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: ssv1.APIVersion, Kind: ssv1.Kind, Name: ss.Name, UID: ss.UID, Controller: &yes}}
}

func TestReconcile(t *testing.T) {
	a, b := testKey(t, "2048"), testKey(t, "3072")
	tests := []struct {
		name     string
		keys     []keys.Key
		ss       func(t *testing.T) *ssv1.SealedSecret
		existing func(ss *ssv1.SealedSecret) *corev1.Secret
		flags    func(r *Reconciler)
		// Expectations.
		synced    corev1.ConditionStatus
		message   string // substring
		event     string
		data      map[string]string // nil: the Secret is as before (or absent)
		labels    map[string]string
		owned     bool
		fps       []string
		unchanged bool
	}{
		{
			name: "creates the Secret", keys: []keys.Key{b, a},
			ss:     func(t *testing.T) *ssv1.SealedSecret { return sealed(t, a) },
			synced: corev1.ConditionTrue, event: EventUnsealed,
			data:   map[string]string{"password": planted, "user": "admin"},
			labels: map[string]string{"app": "api", UnsealedLabel: "true"}, owned: true, fps: []string{a.Fingerprint},
		},
		{
			name: "template data and type", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				ss := sealed(t, a, func(s *corev1.Secret) { s.Type = corev1.SecretTypeBasicAuth })
				ss.Spec.Template.Data = map[string]string{"dsn": "pg://{{ .user }}@db"}
				return ss
			},
			synced: corev1.ConditionTrue, event: EventUnsealed,
			data:  map[string]string{"password": planted, "user": "admin", "dsn": "pg://admin@db"},
			owned: true, fps: []string{a.Fingerprint},
		},
		{
			name: "items sealed with two keys", keys: []keys.Key{a, b},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				ss := sealed(t, a)
				other := sealed(t, b)
				ss.Spec.EncryptedData["user"] = other.Spec.EncryptedData["user"]
				return ss
			},
			synced: corev1.ConditionTrue, event: EventUnsealed,
			data: map[string]string{"password": planted, "user": "admin"}, owned: true,
			fps: sortedFPs(a.Fingerprint, b.Fingerprint),
		},
		{
			name: "tampered ciphertext", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				ss := sealed(t, a)
				// Flip a bit of the ciphertext itself: flipping a base64
				// character can make the text invalid instead, at random.
				v, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData["password"])
				if err != nil {
					t.Fatal(err)
				}
				v[len(v)-6] ^= 1
				ss.Spec.EncryptedData["password"] = base64.StdEncoding.EncodeToString(v)
				return ss
			},
			synced: corev1.ConditionFalse, message: `item "password": no key could decrypt secret`, event: EventErrUnsealFailed,
		},
		{
			name: "strict SealedSecret under another name", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				ss := sealed(t, a)
				ss.Name = "copy"
				return ss
			},
			synced: corev1.ConditionFalse, message: "for another name or namespace", event: EventErrUnsealFailed,
		},
		{
			name: "strict SealedSecret in another namespace keeps the Secret there", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				ss := sealed(t, a)
				ss.Namespace = "staging"
				return ss
			},
			existing: func(ss *ssv1.SealedSecret) *corev1.Secret {
				return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "staging", Name: "db", OwnerReferences: ownedBy(ss)},
					Data: map[string][]byte{"password": []byte("old")}}
			},
			synced: corev1.ConditionFalse, message: "no key could decrypt secret", event: EventErrUnsealFailed, unchanged: true,
		},
		{
			name: "existing Secret not managed", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret { return sealed(t, a) },
			existing: func(*ssv1.SealedSecret) *corev1.Secret {
				return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db"}, Data: map[string][]byte{"password": []byte("old")}}
			},
			synced: corev1.ConditionFalse, message: `Resource "db" already exists and is not managed by SealedSecret`,
			event: EventErrUpdateFailed, unchanged: true,
		},
		{
			name: "managed Secret is adopted and replaced", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret { return sealed(t, a) },
			existing: func(*ssv1.SealedSecret) *corev1.Secret {
				return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db",
					Labels:      map[string]string{"old": "x"},
					Annotations: map[string]string{ssv1.ManagedAnnotation: "true"}},
					Data: map[string][]byte{"password": []byte("old"), "gone": []byte("x")}}
			},
			synced: corev1.ConditionTrue, event: EventUnsealed,
			data:   map[string]string{"password": planted, "user": "admin"},
			labels: map[string]string{"app": "api", UnsealedLabel: "true"}, owned: true, fps: []string{a.Fingerprint},
		},
		{
			name: "patch merges and keeps owners", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret { return sealed(t, a) },
			existing: func(*ssv1.SealedSecret) *corev1.Secret {
				return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db",
					Labels:      map[string]string{"old": "x"},
					Annotations: map[string]string{ssv1.PatchAnnotation: "true"}},
					Data: map[string][]byte{"password": []byte("old"), "kept": []byte("x")}}
			},
			synced: corev1.ConditionTrue, event: EventUnsealed,
			data:   map[string]string{"password": planted, "user": "admin", "kept": "x"},
			labels: map[string]string{"app": "api", "old": "x", UnsealedLabel: "true"}, owned: false, fps: []string{a.Fingerprint},
		},
		{
			name: "skip-set-owner-references", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				return sealed(t, a, func(s *corev1.Secret) {
					s.Annotations = map[string]string{ssv1.SkipSetOwnerReferencesAnnotation: "true"}
				})
			},
			synced: corev1.ConditionTrue, event: EventUnsealed,
			data: map[string]string{"password": planted, "user": "admin"}, owned: false, fps: []string{a.Fingerprint},
		},
		{
			name: "legacy spec.data refused by flag", keys: []keys.Key{a},
			ss: func(t *testing.T) *ssv1.SealedSecret {
				ss := sealed(t, a)
				ss.Spec.Data = []byte("x")
				ss.Spec.EncryptedData = ssv1.SealedSecretEncryptedData{}
				return ss
			},
			flags:  func(r *Reconciler) { r.AcceptV1Data = false },
			synced: corev1.ConditionFalse, message: "--accept-deprecated-v1-data=false", event: EventErrUnsealFailed,
		},
		{
			name: "no keys", keys: nil,
			ss:     func(t *testing.T) *ssv1.SealedSecret { return sealed(t, a) },
			synced: corev1.ConditionFalse, message: "no key could decrypt secret", event: EventErrUnsealFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := tt.ss(t)
			objs := []client.Object{ss}
			var before *corev1.Secret
			if tt.existing != nil {
				before = tt.existing(ss)
				objs = append(objs, before)
			}
			h := newHarness(t, tt.keys, objs...)
			if tt.flags != nil {
				tt.flags(h.r)
			}
			h.reconcile(t, ss)

			got, cond := h.synced(t, ss)
			if cond == nil || cond.Status != tt.synced || !strings.Contains(cond.Message, tt.message) {
				t.Fatalf("condition = %+v, want %s with %q", cond, tt.synced, tt.message)
			}
			if got.Status.ObservedGeneration != ss.Generation || cond.LastUpdateTime.IsZero() || cond.LastTransitionTime.IsZero() {
				t.Fatalf("status = %+v", got.Status)
			}
			if tt.fps != nil && strings.Join(got.Status.KeyFingerprints, ",") != strings.Join(tt.fps, ",") {
				t.Fatalf("keyFingerprints = %v, want %v", got.Status.KeyFingerprints, tt.fps)
			}
			evs := h.eventList()
			if len(evs) != 1 || !strings.Contains(evs[0], tt.event) {
				t.Fatalf("events = %q, want one %s", evs, tt.event)
			}
			for _, text := range append(evs, cond.Message) {
				if strings.Contains(text, planted) {
					t.Fatalf("a value leaked: %q", text)
				}
			}

			sec := h.secret(t, ss.Namespace, ss.Name)
			switch {
			case tt.data == nil && before == nil:
				if sec != nil {
					t.Fatalf("Secret created on failure: %+v", sec)
				}
			case tt.unchanged || tt.data == nil:
				if sec == nil || string(sec.Data["password"]) != "old" || sec.Labels[UnsealedLabel] != "" {
					t.Fatalf("existing Secret changed: %+v", sec)
				}
			default:
				if len(sec.Data) != len(tt.data) {
					t.Fatalf("data keys = %d, want %d", len(sec.Data), len(tt.data))
				}
				for k, v := range tt.data {
					if string(sec.Data[k]) != v {
						t.Errorf("data[%s] = %q, want %q", k, sec.Data[k], v)
					}
				}
				for k, v := range tt.labels {
					if sec.Labels[k] != v {
						t.Errorf("label %s = %q, want %q", k, sec.Labels[k], v)
					}
				}
				if tt.labels != nil && len(sec.Labels) != len(tt.labels) {
					t.Errorf("labels = %v, want %v", sec.Labels, tt.labels)
				}
				if owned := metav1.IsControlledBy(sec, ss); owned != tt.owned {
					t.Errorf("controlled by the SealedSecret = %v, want %v", owned, tt.owned)
				}
				if sec.Annotations[SourceDigestAnnotation] != sourceDigest(ss) {
					t.Error("no source digest")
				}
			}
		})
	}
}

func sortedFPs(a, b string) []string {
	if a > b {
		a, b = b, a
	}
	return []string{a, b}
}

// A second pass over a synced SealedSecret decrypts nothing and writes
// nothing; a changed spec is unsealed again; a Secret changed behind the
// controller's back is put back.
func TestReconcileDecryptsOnce(t *testing.T) {
	a := testKey(t, "2048")
	ss := sealed(t, a)
	h := newHarness(t, []keys.Key{a}, ss)
	h.reconcile(t, ss)
	got, _ := h.synced(t, ss)
	rv := got.ResourceVersion
	secRV := h.secret(t, "prod", "db").ResourceVersion

	h.reconcile(t, ss)
	if n := h.unseals(); n != 1 {
		t.Fatalf("unseals after a second pass = %v, want 1", n)
	}
	got, _ = h.synced(t, ss)
	if got.ResourceVersion != rv || h.secret(t, "prod", "db").ResourceVersion != secRV {
		t.Fatal("a pass with nothing to do wrote something")
	}
	if c := histogramCount(t, h.metrics, outcomeInSync); c != 1 {
		t.Fatalf("in_sync reconciles = %d, want 1", c)
	}

	// Someone edits the Secret: the Secret watch flags drift, the next pass
	// decrypts and restores it.
	sec := h.secret(t, "prod", "db")
	sec.Data["password"] = []byte("edited")
	if err := h.c.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	h.r.markDrift(client.ObjectKeyFromObject(ss))
	h.reconcile(t, ss)
	if string(h.secret(t, "prod", "db").Data["password"]) != planted || h.unseals() != 2 {
		t.Fatalf("drift not repaired (unseals %v)", h.unseals())
	}

	// A new spec is unsealed again.
	next := sealed(t, a, func(s *corev1.Secret) { s.Data["password"] = []byte("rotated") })
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(ss), got); err != nil {
		t.Fatal(err)
	}
	got.Spec = next.Spec
	got.Generation = 2
	if err := h.c.Update(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	h.reconcile(t, ss)
	if string(h.secret(t, "prod", "db").Data["password"]) != "rotated" || h.unseals() != 3 {
		t.Fatalf("new spec not unsealed (unseals %v)", h.unseals())
	}
}

// lagging is a cache that has not seen any Secret yet: the moment after a
// write, before the watch event arrives.
type lagging struct{ client.Reader }

func (l lagging) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
	}
	return l.Reader.Get(ctx, key, obj, opts...)
}

// A second pass before the cache shows the Secret just written (a key
// change or a requeue in that window) does not decrypt again; once the
// cache's events for the Secret arrive, what the cache says counts again.
func TestReconcileDecryptsOnceBeforeTheCacheCatchesUp(t *testing.T) {
	a := testKey(t, "2048")
	ss := sealed(t, a)
	h := newHarness(t, []keys.Key{a}, ss)
	cache := h.r.Cache
	h.r.Cache = lagging{cache}
	h.reconcile(t, ss)
	h.reconcile(t, ss)
	if n := h.unseals(); n != 1 {
		t.Fatalf("unseals after a second pass in the cache's blind spot = %v, want 1", n)
	}
	if _, cond := h.synced(t, ss); cond == nil || cond.Status != corev1.ConditionTrue {
		t.Fatalf("Synced = %+v, want True", cond)
	}

	// The create event arrives, then someone deletes the Secret: the
	// delete event queues the SealedSecret, which makes the Secret again.
	written := h.secret(t, "prod", "db")
	onSecret := h.r.secretEvents()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	onSecret.Create(context.Background(), event.TypedCreateEvent[*corev1.Secret]{Object: written}, q)
	if err := h.c.Delete(context.Background(), written); err != nil {
		t.Fatal(err)
	}
	h.r.Cache = cache
	onSecret.Delete(context.Background(), event.TypedDeleteEvent[*corev1.Secret]{Object: written}, q)
	if q.Len() != 1 {
		t.Fatalf("queue length after the delete event = %d, want 1", q.Len())
	}
	h.reconcile(t, ss)
	if h.secret(t, "prod", "db") == nil || h.unseals() != 2 {
		t.Fatalf("deleted Secret not made again (unseals %v)", h.unseals())
	}

	// Without the events, a record of the write alone never stands in for
	// a Secret deleted behind the cache's back: the delete event clears it.
	h.r.Cache = lagging{cache}
	if err := h.c.Delete(context.Background(), h.secret(t, "prod", "db")); err != nil {
		t.Fatal(err)
	}
	onSecret.Delete(context.Background(), event.TypedDeleteEvent[*corev1.Secret]{Object: written}, q)
	h.reconcile(t, ss)
	if h.secret(t, "prod", "db") == nil || h.unseals() != 3 {
		t.Fatalf("Secret deleted in the blind spot not made again (unseals %v)", h.unseals())
	}
}

// A key that opened a SealedSecret is withdrawn: the settled Secret is no
// longer trusted as is, the values are opened again, fail, and the Secret
// stays as it was.
func TestReconcileKeyWithdrawn(t *testing.T) {
	a, b := testKey(t, "2048"), testKey(t, "3072")
	ss := sealed(t, a)
	h := newHarness(t, []keys.Key{a}, ss)
	h.reconcile(t, ss)
	h.r.Keys = &fakeKeys{[]keys.Key{b}}
	h.reconcile(t, ss)
	_, cond := h.synced(t, ss)
	if cond.Status != corev1.ConditionFalse || h.unseals() != 2 {
		t.Fatalf("condition %+v after the key went (unseals %v)", cond, h.unseals())
	}
	if string(h.secret(t, "prod", "db").Data["password"]) != planted {
		t.Fatal("the Secret changed after a failed unseal")
	}
	// The key comes back (relabelled active again): synced without a write.
	h.r.Keys = &fakeKeys{[]keys.Key{b, a}}
	h.reconcile(t, ss)
	if _, cond = h.synced(t, ss); cond.Status != corev1.ConditionTrue || h.unseals() != 2 {
		t.Fatalf("condition %+v after the key returned (unseals %v)", cond, h.unseals())
	}
}

func TestReconcileDeletedForgetsMetrics(t *testing.T) {
	a := testKey(t, "2048")
	ss := sealed(t, a)
	h := newHarness(t, []keys.Key{a}, ss)
	h.reconcile(t, ss)
	if n := testutil.CollectAndCount(h.r.Metrics.conditionInfo); n != 1 {
		t.Fatalf("condition series = %d", n)
	}
	if err := h.c.Delete(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
	h.reconcile(t, ss)
	if n := testutil.CollectAndCount(h.r.Metrics.conditionInfo); n != 0 {
		t.Fatalf("condition series after delete = %d", n)
	}
}

// notServed hides SealedSecrets from the cache, as a label selector does
// for one relabelled out of it.
type notServed struct{ client.Reader }

func (n notServed) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*ssv1.SealedSecret); ok {
		return apierrors.NewNotFound(ssv1.GroupVersion.WithResource("sealedsecrets").GroupResource(), key.Name)
	}
	return n.Reader.Get(ctx, key, obj, opts...)
}

func TestReconcileOldGCBehavior(t *testing.T) {
	a := testKey(t, "2048")
	ours := func(mutate ...func(*corev1.Secret)) func(*ssv1.SealedSecret) *corev1.Secret {
		return func(ss *ssv1.SealedSecret) *corev1.Secret {
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ss.Namespace, Name: ss.Name, Labels: map[string]string{UnsealedLabel: "true"}},
				Data:       map[string][]byte{"password": []byte(planted)},
			}
			for _, m := range mutate {
				m(s)
			}
			return s
		}
	}
	tests := []struct {
		name   string
		oldGC  bool
		secret func(ss *ssv1.SealedSecret) *corev1.Secret // nil: none
		// ss says what the API server still has: "gone", "deleting"
		// (deletionTimestamp and a finalizer), or "unserved" (there, but
		// out of the cache, e.g. relabelled out of --label-selector).
		ss          string
		wantDeleted bool
	}{
		{name: "deletes the Secret it made", oldGC: true, secret: ours(), ss: "gone", wantDeleted: true},
		{name: "deletes it while the SealedSecret finalizes", oldGC: true, secret: ours(), ss: "deleting", wantDeleted: true},
		{name: "keeps a Secret without its label", oldGC: true, ss: "gone",
			secret: ours(func(s *corev1.Secret) { s.Labels = map[string]string{"by": "hand"} })},
		{name: "keeps a Secret it only patched", oldGC: true, ss: "gone",
			secret: ours(func(s *corev1.Secret) { s.Annotations = map[string]string{ssv1.PatchAnnotation: "true"} })},
		{name: "deletes a Secret adopted with managed", oldGC: true, ss: "gone", wantDeleted: true,
			secret: ours(func(s *corev1.Secret) { s.Annotations = map[string]string{ssv1.ManagedAnnotation: "true"} })},
		{name: "keeps the Secret of a SealedSecret that is only not served", oldGC: true, secret: ours(), ss: "unserved"},
		{name: "no Secret: nothing to do", oldGC: true, ss: "gone"},
		{name: "without the flag the garbage collector does it", oldGC: false, secret: ours(), ss: "gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := sealed(t, a)
			objs := []client.Object{}
			switch tt.ss {
			case "deleting":
				ss.Finalizers = []string{"example.com/hold"}
				objs = append(objs, ss)
			case "unserved":
				objs = append(objs, ss)
			}
			if tt.secret != nil {
				objs = append(objs, tt.secret(ss))
			}
			h := newHarness(t, []keys.Key{a}, objs...)
			if tt.ss == "deleting" {
				if err := h.c.Delete(context.Background(), ss); err != nil {
					t.Fatal(err)
				}
			}
			h.r.Cache = notServed{h.r.Cache}
			h.r.OldGCBehavior = tt.oldGC
			h.reconcile(t, ss)
			got := h.secret(t, ss.Namespace, ss.Name)
			switch {
			case tt.secret == nil && got != nil:
				t.Fatalf("a Secret appeared: %+v", got.ObjectMeta)
			case tt.secret != nil && tt.wantDeleted && got != nil:
				t.Fatalf("Secret kept: %+v", got.ObjectMeta)
			case tt.secret != nil && !tt.wantDeleted && got == nil:
				t.Fatal("Secret deleted")
			}
			if got != nil && string(got.Data["password"]) != planted {
				t.Fatalf("Secret changed: %v", got.Data)
			}
		})
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, outcome string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sealed_secrets_controller_reconcile_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

func TestOrderKeys(t *testing.T) {
	a, b, c := testKey(t, "2048"), testKey(t, "3072"), testKey(t, "4096")
	tests := []struct {
		hint []string
		want []string
	}{
		{nil, []string{a.Fingerprint, b.Fingerprint, c.Fingerprint}},
		{[]string{c.Fingerprint}, []string{c.Fingerprint, a.Fingerprint, b.Fingerprint}},
		{[]string{c.Fingerprint, b.Fingerprint}, []string{b.Fingerprint, c.Fingerprint, a.Fingerprint}},
	}
	for _, tt := range tests {
		privs, fps := orderKeys([]keys.Key{a, b, c}, tt.hint)
		if strings.Join(fps, ",") != strings.Join(tt.want, ",") {
			t.Errorf("hint %v: order %v, want %v", tt.hint, fps, tt.want)
		}
		for i, p := range privs {
			if keys.Fingerprint(&p.PublicKey) != fps[i] {
				t.Errorf("private key %d does not match its fingerprint", i)
			}
		}
	}
}
