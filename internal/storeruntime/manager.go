// Package storeruntime runs the stores behind the provider contract: the
// Manager keeps one client per store (rebuilt when the store or its
// credentials change), coalesces identical reads in flight, serves recent
// values from a short-lived cache, holds each store to a rate limit and a
// concurrency cap, and counts every call. Providers are handed to
// NewManager explicitly: nothing registers itself.
package storeruntime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// Options tune the Manager. Zero values take the defaults noted.
type Options struct {
	// QPS and Burst limit calls to each store (defaults 50 and 100).
	QPS   float64
	Burst int
	// MaxConcurrent caps calls in flight to each store (default 10).
	MaxConcurrent int
	// ValueCacheMaxAge is the longest a fetched value is served again
	// (default 5m); each read also asks for at most half its own
	// refreshInterval. Negative disables the value cache.
	ValueCacheMaxAge time.Duration
	// CredentialCheckInterval is how often a client's credential Secrets are
	// checked for changes (default 30s); a change rebuilds the client.
	CredentialCheckInterval time.Duration
	// CallTimeout bounds one call to a store (default 30s).
	CallTimeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// AllowControllerIdentityInNamespacedStores lets a SecretStore act with
	// the controller's own identity when it names no credentials (see
	// AmbientIdentity), as ESO does. Only for clusters where every namespace
	// user is trusted; ClusterSecretStores may do so regardless.
	AllowControllerIdentityInNamespacedStores bool
}

func (o Options) withDefaults() Options {
	if o.QPS == 0 {
		o.QPS = 50
	}
	if o.Burst == 0 {
		o.Burst = 100
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 10
	}
	if o.ValueCacheMaxAge == 0 {
		o.ValueCacheMaxAge = 5 * time.Minute
	}
	if o.CredentialCheckInterval == 0 {
		o.CredentialCheckInterval = 30 * time.Second
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Manager owns one Store handle per store and the providers that build them.
type Manager struct {
	providers map[string]provider.Provider
	kube      provider.Kube
	opts      Options
	metrics   *Metrics

	mu     sync.Mutex
	stores map[storeKey]*Store
}

// NewManager wires the given providers. metrics may be nil.
func NewManager(kube provider.Kube, metrics *Metrics, opts Options, providers ...provider.Provider) *Manager {
	m := &Manager{
		providers: make(map[string]provider.Provider, len(providers)),
		kube:      kube,
		opts:      opts.withDefaults(),
		metrics:   metrics,
		stores:    map[storeKey]*Store{},
	}
	for _, p := range providers {
		m.providers[p.Name()] = p
	}
	return m
}

// Providers returns the served providers by name.
func (m *Manager) Providers() map[string]provider.Provider { return m.providers }

// ValueCacheMaxAge is the configured cap on cached value age (negative: no cache).
func (m *Manager) ValueCacheMaxAge() time.Duration { return m.opts.ValueCacheMaxAge }

type storeKey struct {
	kind, namespace, name string
	// referent is the namespace of the user for ClusterSecretStores whose
	// credentials are resolved there.
	referent string
}

func (k storeKey) String() string {
	if k.kind == esv1.ClusterSecretStoreKind {
		return k.kind + "/" + k.name
	}
	return k.kind + "/" + k.namespace + "/" + k.name
}

// Store returns the handle for store as used from namespace, building or
// rebuilding its client when needed.
func (m *Manager) Store(ctx context.Context, store esv1.GenericStore, namespace string) (*Store, error) {
	spec := store.GetSpec()
	p, err := provider.Configured(spec, m.providers)
	if err != nil {
		return nil, err
	}
	key := storeKey{kind: store.GetKind(), namespace: store.GetNamespace(), name: store.GetName()}
	if !m.opts.AllowControllerIdentityInNamespacedStores {
		if err := checkIdentity(p, store, key.String()); err != nil {
			// A client built before the store was changed must not serve on.
			m.drop(key)
			return nil, err
		}
	}
	credNS := store.GetNamespace()
	if key.kind == esv1.ClusterSecretStoreKind {
		credNS = namespace
		if p.Referent(spec) {
			key.referent = namespace
		}
	}
	m.mu.Lock()
	s, ok := m.stores[key]
	if !ok {
		s = &Store{
			m:        m,
			key:      key,
			label:    key.String(),
			limiter:  rate.NewLimiter(rate.Limit(m.opts.QPS), m.opts.Burst),
			sem:      make(chan struct{}, m.opts.MaxConcurrent),
			inflight: map[readKey]*call{},
			values:   map[readKey]cached{},
		}
		m.stores[key] = s
	}
	m.mu.Unlock()
	if err := s.ensureClient(ctx, p, store, credNS); err != nil {
		return nil, err
	}
	return s, nil
}

// Forget drops every handle of the named store (it was deleted).
func (m *Manager) Forget(kind, namespace, name string) {
	m.mu.Lock()
	var drop []*Store
	for k, s := range m.stores {
		if k.kind == kind && k.namespace == namespace && k.name == name {
			drop = append(drop, s)
			delete(m.stores, k)
		}
	}
	m.mu.Unlock()
	for _, s := range drop {
		s.close()
	}
}

// drop closes and forgets the handle under key, if any.
func (m *Manager) drop(key storeKey) {
	m.mu.Lock()
	s, ok := m.stores[key]
	delete(m.stores, key)
	m.mu.Unlock()
	if ok {
		s.close()
	}
}

func (m *Manager) now() time.Time { return m.opts.Now() }

// Store is one store's client with its caches and limits.
type Store struct {
	m        *Manager
	key      storeKey
	label    string
	provider string
	limiter  *rate.Limiter
	sem      chan struct{}

	buildMu     sync.Mutex // serialises client builds
	mu          sync.Mutex // guards everything below
	client      provider.Client
	uid         types.UID
	generation  int64
	settings    string // storeSettings when the client was built
	credRVs     map[provider.Ref]string
	credChecked time.Time
	inflight    map[readKey]*call
	values      map[readKey]cached
	lastSweep   time.Time
}

type readKey struct {
	key, version string
	// meta marks a read of the secret's metadata rather than its value.
	meta bool
}

type call struct {
	done   chan struct{}
	secret provider.Secret
	at     time.Time
	err    error
}

type cached struct {
	secret provider.Secret
	at     time.Time
}

// Name is the store as "Kind/namespace/name" (or "Kind/name").
func (s *Store) Name() string { return s.label }

// ensureClient (re)builds the client when the store changed, its
// credentials changed or are about to expire.
func (s *Store) ensureClient(ctx context.Context, p provider.Provider, store esv1.GenericStore, credNS string) error {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	now := s.m.now()
	s.mu.Lock()
	settings := storeSettings(store)
	stale := s.client == nil || s.uid != store.GetUID() || s.generation != store.GetGeneration() || s.provider != p.Name() || s.settings != settings
	if !stale {
		if e, ok := s.client.(provider.Expiring); ok && !e.ExpiresAt().IsZero() && now.After(e.ExpiresAt().Add(-time.Minute)) {
			stale = true
		}
	}
	checkCreds := !stale && len(s.credRVs) > 0 && now.Sub(s.credChecked) >= s.m.opts.CredentialCheckInterval
	refs := s.credRVs
	s.mu.Unlock()

	if checkCreds {
		changed, err := s.credentialsChanged(ctx, refs)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.credChecked = now
		s.mu.Unlock()
		stale = changed
	}
	if !stale {
		return nil
	}

	c, err := p.NewClient(ctx, store, s.m.kube, credNS)
	s.m.metrics.observe(p.Name(), s.label, "NewClient", 0, err)
	if err != nil {
		return fmt.Errorf("%s: building the %s client: %w", s.label, p.Name(), err)
	}
	rvs := map[provider.Ref]string{}
	if cr, ok := c.(provider.CredentialRefs); ok {
		for _, ref := range cr.Credentials() {
			rv, err := s.resourceVersion(ctx, ref)
			if err != nil {
				c.Close()
				return err
			}
			rvs[ref] = rv
		}
	}
	s.mu.Lock()
	old := s.client
	s.client, s.uid, s.generation, s.provider, s.settings = c, store.GetUID(), store.GetGeneration(), p.Name(), settings
	s.credRVs, s.credChecked = rvs, now
	// Values read with the old configuration or credentials are not reused.
	s.values = map[readKey]cached{}
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// settingsPrefix marks store annotations that change how its client
// behaves (such as the kubernetes provider's push-may-overwrite); a change
// to them, unlike other metadata, does not bump the generation.
const settingsPrefix = "externalsecrets.keyward.dev/"

// storeSettings is the store's settings annotations in a stable form.
func storeSettings(store esv1.GenericStore) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(store.GetAnnotations())) {
		if strings.HasPrefix(k, settingsPrefix) {
			fmt.Fprintf(&b, "%s=%q;", k, store.GetAnnotations()[k])
		}
	}
	return b.String()
}

func (s *Store) resourceVersion(ctx context.Context, ref provider.Ref) (string, error) {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(ref.Kind))
	err := s.m.kube.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: reading %s %s/%s: %w", s.label, ref.Kind, ref.Namespace, ref.Name, err)
	}
	return obj.GetResourceVersion(), nil
}

func (s *Store) credentialsChanged(ctx context.Context, refs map[provider.Ref]string) (bool, error) {
	for ref, rv := range refs {
		now, err := s.resourceVersion(ctx, ref)
		if err != nil {
			return false, err
		}
		if now != rv {
			return true, nil
		}
	}
	return false, nil
}

func (s *Store) currentClient() provider.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

func (s *Store) providerName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.provider
}

func (s *Store) close() {
	s.mu.Lock()
	c := s.client
	s.client = nil
	s.values = map[readKey]cached{}
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Read returns the remote secret key at version and when it was fetched.
// A value fetched no longer than maxAge ago (capped by the Manager's
// ValueCacheMaxAge) may be served from the cache; maxAge 0 always asks the
// store, though it joins an identical read already in flight. The returned
// Secret is shared: treat it as read-only.
func (s *Store) Read(ctx context.Context, key, version string, maxAge time.Duration) (provider.Secret, time.Time, error) {
	return s.read(ctx, readKey{key: key, version: version}, maxAge)
}

// ReadMetadata returns the metadata of the remote secret key (its tags or
// labels, as a JSON object) for remoteRef.metadataPolicy Fetch, cached and
// coalesced like Read.
func (s *Store) ReadMetadata(ctx context.Context, key string, maxAge time.Duration) (provider.Secret, time.Time, error) {
	if _, ok := s.currentClient().(provider.MetadataReader); !ok {
		return provider.Secret{}, time.Time{}, fmt.Errorf("%s: the %s provider has no metadata to fetch", s.label, s.providerName())
	}
	return s.read(ctx, readKey{key: key, meta: true}, maxAge)
}

func (s *Store) read(ctx context.Context, rk readKey, maxAge time.Duration) (provider.Secret, time.Time, error) {
	key, version := rk.key, rk.version
	limit := min(maxAge, s.m.opts.ValueCacheMaxAge)
	s.mu.Lock()
	prov := s.provider
	if c, ok := s.values[rk]; ok && limit > 0 && s.m.now().Sub(c.at) <= limit {
		s.mu.Unlock()
		s.m.metrics.read(prov, s.label, "cache")
		return c.secret, c.at, nil
	}
	if c, ok := s.inflight[rk]; ok {
		s.mu.Unlock()
		s.m.metrics.read(prov, s.label, "coalesced")
		select {
		case <-c.done:
			return c.secret, c.at, c.err
		case <-ctx.Done():
			return provider.Secret{}, time.Time{}, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	s.inflight[rk] = c
	cl := s.client
	s.mu.Unlock()
	s.m.metrics.read(prov, s.label, "store")

	c.at = s.m.now()
	// The read outlives a caller that gives up, since others may be waiting on it.
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.opts.CallTimeout)
	name, what := "Read", "reading key"
	if rk.meta {
		name, what = "ReadMetadata", "reading the metadata of key"
	}
	err := s.do(callCtx, name, func(ctx context.Context) error {
		if cl == nil {
			return errors.New("store client closed")
		}
		var err error
		if rk.meta {
			mr, ok := cl.(provider.MetadataReader)
			if !ok {
				return errors.New("the store client has no metadata to fetch")
			}
			c.secret, err = mr.ReadMetadata(ctx, key)
			return err
		}
		c.secret, err = cl.Read(ctx, key, version)
		return err
	})
	cancel()
	if err != nil {
		c.err = fmt.Errorf("%s: %s %q: %w", s.label, what, key, err)
	}

	s.mu.Lock()
	delete(s.inflight, rk)
	if errors.Is(err, provider.ErrNotFound) {
		// Gone from the store: no one may be served the old value any more.
		delete(s.values, rk)
	}
	if err == nil && s.m.opts.ValueCacheMaxAge > 0 {
		s.values[rk] = cached{secret: c.secret, at: c.at}
		s.sweepLocked()
	}
	s.mu.Unlock()
	close(c.done)
	return c.secret, c.at, c.err
}

// sweepLocked drops values too old to be served to anyone.
func (s *Store) sweepLocked() {
	now := s.m.now()
	if now.Sub(s.lastSweep) < s.m.opts.ValueCacheMaxAge {
		return
	}
	s.lastSweep = now
	for k, v := range s.values {
		if now.Sub(v.at) > s.m.opts.ValueCacheMaxAge {
			delete(s.values, k)
		}
	}
}

// Find returns the remote secrets matching find.
func (s *Store) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	cl := s.currentClient()
	var out map[string]provider.Secret
	err := s.do(ctx, "Find", func(ctx context.Context) error {
		var err error
		out, err = cl.Find(ctx, find)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: find: %w", s.label, err)
	}
	return out, nil
}

// Validate checks the store.
func (s *Store) Validate(ctx context.Context) error {
	cl := s.currentClient()
	return s.do(ctx, "Validate", cl.Validate)
}

// CanWrite reports whether the store's client supports PushSecret.
func (s *Store) CanWrite() bool {
	_, ok := s.currentClient().(provider.Writer)
	return ok
}

// Write pushes a value (see Writer) and forgets any cached read of key.
func (s *Store) Write(ctx context.Context, key, property string, value []byte) error {
	w, ok := s.currentClient().(provider.Writer)
	if !ok {
		return fmt.Errorf("%s: the %s provider cannot be written to", s.label, s.providerName())
	}
	err := s.do(ctx, "Write", func(ctx context.Context) error { return w.Write(ctx, key, property, value) })
	s.forget(key)
	if err != nil {
		return fmt.Errorf("%s: writing key %q: %w", s.label, key, err)
	}
	return nil
}

// Delete removes a pushed value (see Writer).
func (s *Store) Delete(ctx context.Context, key, property string) error {
	w, ok := s.currentClient().(provider.Writer)
	if !ok {
		return fmt.Errorf("%s: the %s provider cannot be written to", s.label, s.providerName())
	}
	err := s.do(ctx, "Delete", func(ctx context.Context) error { return w.Delete(ctx, key, property) })
	s.forget(key)
	if err != nil {
		return fmt.Errorf("%s: deleting key %q: %w", s.label, key, err)
	}
	return nil
}

func (s *Store) forget(key string) {
	s.mu.Lock()
	for k := range s.values {
		if k.key == key {
			delete(s.values, k)
		}
	}
	s.mu.Unlock()
}

// do runs one call to the store under its rate limit and concurrency cap,
// and records it.
func (s *Store) do(ctx context.Context, name string, f func(context.Context) error) error {
	prov := s.providerName()
	if r := s.limiter.Reserve(); r.Delay() > 0 {
		s.m.metrics.throttle(prov, s.label)
		t := time.NewTimer(r.Delay())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			r.Cancel()
			return ctx.Err()
		}
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	ctx = provider.WithThrottleReporter(ctx, func() { s.m.metrics.storeThrottle(prov, s.label, name) })
	start := time.Now()
	err := f(ctx)
	s.m.metrics.observe(prov, s.label, name, time.Since(start), err)
	return err
}
