package keys

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Key is one loaded sealing key.
type Key struct {
	// Fingerprint is Fingerprint(&Private.PublicKey).
	Fingerprint string
	// SecretName is the key Secret it was read from.
	SecretName string
	Cert       *x509.Certificate
	CertPEM    []byte
	Private    *rsa.PrivateKey
	// Created is the time the registry orders keys by: the certificate's
	// NotBefore, or the Secret's creation time under
	// OrderSecretCreationTimestamp.
	Created time.Time
}

// OrderPriority decides which key is the newest, as --key-order-priority.
type OrderPriority string

// The two orders Bitnami's controller offers.
const (
	OrderCertNotBefore           OrderPriority = "CertNotBefore"
	OrderSecretCreationTimestamp OrderPriority = "SecretCreationTimestamp"
)

// ParseOrderPriority reads a --key-order-priority value.
func ParseOrderPriority(s string) (OrderPriority, error) {
	switch OrderPriority(s) {
	case OrderCertNotBefore, OrderSecretCreationTimestamp:
		return OrderPriority(s), nil
	}
	return "", fmt.Errorf("key order priority %q: must be %s or %s", s, OrderCertNotBefore, OrderSecretCreationTimestamp)
}

// RegistryOptions configure a Registry. Zero values take the controller's
// defaults.
type RegistryOptions struct {
	Namespace string        // where key Secrets live (DefaultNamespace)
	Prefix    string        // --key-prefix (DefaultKeyPrefix)
	Order     OrderPriority // --key-order-priority (OrderCertNotBefore)

	// What Rotate generates.
	KeySize     int           // DefaultKeySize
	CN          string        // --my-cn
	TTL         time.Duration // DefaultTTL
	Labels      map[string]string
	Annotations map[string]string

	Log logr.Logger
}

// Registry holds the active sealing keys of a controller namespace and keeps
// them current: key Secrets added, changed, relabelled or deleted take effect
// without a restart. It watches only the key Secrets (by label, plus the
// legacy Secret named exactly the prefix), never every Secret. Safe for
// concurrent use.
type Registry struct {
	kube corev1client.CoreV1Interface
	opts RegistryOptions

	mu       sync.RWMutex
	labelled map[string][]Key // by Secret name, from the label watch
	legacy   map[string][]Key // the Secret named exactly Prefix
	sorted   []Key            // union, newest first
	privs    []*rsa.PrivateKey
	subs     []chan struct{}

	ready     chan struct{}
	readyOnce sync.Once
}

// NewRegistry returns a Registry; Start loads and watches the keys.
func NewRegistry(kube corev1client.CoreV1Interface, opts RegistryOptions) *Registry {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultKeyPrefix
	}
	if opts.Order == "" {
		opts.Order = OrderCertNotBefore
	}
	if opts.KeySize == 0 {
		opts.KeySize = DefaultKeySize
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	return &Registry{
		kube:     kube,
		opts:     opts,
		labelled: map[string][]Key{},
		legacy:   map[string][]Key{},
		ready:    make(chan struct{}),
	}
}

// Current is the key new values are sealed with: the newest.
func (r *Registry) Current() (Key, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.sorted) == 0 {
		return Key{}, false
	}
	return r.sorted[0], true
}

// CurrentCert is Current as the HTTP API serves it.
func (r *Registry) CurrentCert() ([]byte, *rsa.PublicKey, bool) {
	k, ok := r.Current()
	if !ok {
		return nil, nil, false
	}
	return k.CertPEM, &k.Private.PublicKey, true
}

// All returns every active key, newest first.
func (r *Registry) All() []Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.sorted)
}

// PrivateKeys returns every active private key, newest first (new values
// are most likely sealed with the newest key, so it is tried first).
func (r *Registry) PrivateKeys() []*rsa.PrivateKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.privs)
}

// Ready is closed once the key Secrets have been listed for the first time;
// before that an empty registry means "not loaded", not "no keys".
func (r *Registry) Ready() <-chan struct{} { return r.ready }

// Subscribe returns a channel that receives a value after the key set
// changes. Deliveries coalesce: a slow reader sees one value for many
// changes.
func (r *Registry) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.subs = append(r.subs, ch)
	r.mu.Unlock()
	return ch
}

// NeedLeaderElection is false: every replica serves the keys (the HTTP API
// answers on each), only the Renewer is leader-only.
func (r *Registry) NeedLeaderElection() bool { return false }

// Start watches the key Secrets until ctx ends.
func (r *Registry) Start(ctx context.Context) error {
	active := KeyLabel + "=" + KeyLabelActive
	byLabel := secretInformer(r.kube, r.opts.Namespace, func(o *metav1.ListOptions) { o.LabelSelector = active })
	byName := secretInformer(r.kube, r.opts.Namespace, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", r.opts.Prefix).String()
	})
	var synced []cache.InformerSynced
	for _, w := range []struct {
		inf cache.SharedIndexInformer
		set map[string][]Key
	}{{byLabel, r.labelled}, {byName, r.legacy}} {
		set := w.set
		reg, err := w.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { r.put(set, obj) },
			UpdateFunc: func(_, obj any) { r.put(set, obj) },
			DeleteFunc: func(obj any) { r.drop(set, obj) },
		})
		if err != nil {
			return fmt.Errorf("watching key Secrets in %s: %w", r.opts.Namespace, err)
		}
		// Synced once the handler, not just the informer, has seen the
		// first list: Ready must mean the keys are in.
		synced = append(synced, reg.HasSynced)
		go w.inf.RunWithContext(ctx)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // stopped before the first list finished
	}
	r.readyOnce.Do(func() { close(r.ready) })
	all := r.All()
	r.opts.Log.Info("sealing keys loaded", "namespace", r.opts.Namespace, "keys", len(all))
	<-ctx.Done()
	return nil
}

// Rotate makes a new key now, stores it as a key Secret and returns it. The
// registry uses it at once, without waiting for the watch.
func (r *Registry) Rotate(ctx context.Context) (Key, error) {
	o := r.opts
	s, err := CreateKeySecret(ctx, r.kube, o.Namespace, o.Prefix, o.KeySize, o.CN, o.TTL, o.Labels, o.Annotations)
	if err != nil {
		return Key{}, err
	}
	ks, err := r.parse(s)
	if err != nil || len(ks) == 0 {
		return Key{}, fmt.Errorf("reading back key Secret %s/%s: %v", s.Namespace, s.Name, err)
	}
	r.mu.Lock()
	r.labelled[s.Name] = ks
	r.rebuildLocked()
	r.mu.Unlock()
	r.opts.Log.Info("new sealing key", "secret", s.Name, "fingerprint", ks[0].Fingerprint)
	return ks[0], nil
}

// CreateKeySecret generates a key pair as the controller does and stores it
// as a new key Secret named prefix plus a random suffix (generateName) in
// namespace. It never replaces an existing key.
func CreateKeySecret(ctx context.Context, kube corev1client.CoreV1Interface, namespace, prefix string, bits int, cn string, ttl time.Duration, labels, annotations map[string]string) (*corev1.Secret, error) {
	// Certificates and Secrets keep whole seconds: start the new key in a
	// later second than any key made before this call, or two keys made
	// within one second would tie and the older could stay current.
	wait := time.NewTimer(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
	}
	pair, err := Generate(bits, cn, ttl, time.Now())
	if err != nil {
		return nil, err
	}
	s := pair.Secret(namespace, "", labels, annotations)
	s.GenerateName = prefix
	created, err := kube.Secrets(namespace).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating key Secret %s/%s*: %w", namespace, prefix, err)
	}
	return created, nil
}

func (r *Registry) put(set map[string][]Key, obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	ks, err := r.parse(s)
	if err != nil {
		// The Secret stays out of the registry; others keep working.
		r.opts.Log.Error(err, "ignoring key Secret", "namespace", s.Namespace, "secret", s.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(ks) == 0 {
		delete(set, s.Name)
	} else {
		set[s.Name] = ks
	}
	r.rebuildLocked()
}

func (r *Registry) drop(set map[string][]Key, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, had := set[s.Name]; had {
		delete(set, s.Name)
		r.rebuildLocked()
	}
}

// rebuildLocked recomputes the sorted views and tells subscribers when the
// set of keys changed. r.mu must be held for writing.
func (r *Registry) rebuildLocked() {
	seen := map[string]bool{}
	var all []Key
	for _, set := range []map[string][]Key{r.labelled, r.legacy} {
		for _, ks := range set {
			for _, k := range ks {
				if !seen[k.Fingerprint] {
					seen[k.Fingerprint] = true
					all = append(all, k)
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b Key) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	changed := len(all) != len(r.sorted)
	for i := 0; !changed && i < len(all); i++ {
		changed = all[i].Fingerprint != r.sorted[i].Fingerprint
	}
	r.sorted = all
	r.privs = make([]*rsa.PrivateKey, len(all))
	for i, k := range all {
		r.privs[i] = k.Private
	}
	if changed {
		for _, ch := range r.subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// parse reads the keys of one key Secret: each private key in tls.key
// paired with the certificate in tls.crt for the same public key. A key
// without its certificate is left out, since it could not be served.
func (r *Registry) parse(s *corev1.Secret) ([]Key, error) {
	privs, err := FromSecret(s)
	if err != nil {
		return nil, err
	}
	certs, err := parseCerts(s.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Errorf("key Secret %s/%s item %s: %w", s.Namespace, s.Name, corev1.TLSCertKey, err)
	}
	var out []Key
	var errs []error
	for i, p := range privs {
		c := matchCert(certs, &p.PublicKey)
		if c == nil {
			errs = append(errs, fmt.Errorf("key Secret %s/%s: private key %d has no matching certificate in %s", s.Namespace, s.Name, i+1, corev1.TLSCertKey))
			continue
		}
		created := c.NotBefore
		if r.opts.Order == OrderSecretCreationTimestamp {
			created = s.CreationTimestamp.Time
		}
		out = append(out, Key{
			Fingerprint: Fingerprint(&p.PublicKey),
			SecretName:  s.Name,
			Cert:        c,
			CertPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}),
			Private:     p,
			Created:     created,
		})
	}
	return out, errors.Join(errs...)
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("malformed certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE PEM block found")
	}
	return out, nil
}

func matchCert(certs []*x509.Certificate, pub *rsa.PublicKey) *x509.Certificate {
	for _, c := range certs {
		if cp, ok := c.PublicKey.(*rsa.PublicKey); ok && cp.Equal(pub) {
			return c
		}
	}
	return nil
}

// secretInformer watches the Secrets of one namespace that tweak selects.
func secretInformer(kube corev1client.CoreV1Interface, namespace string, tweak func(*metav1.ListOptions)) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			return kube.Secrets(namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			return kube.Secrets(namespace).Watch(ctx, o)
		},
	}
	return cache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, cache.Indexers{})
}
