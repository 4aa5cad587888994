package storeruntime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// scripted is a provider whose clients count calls and can be held.
type scripted struct {
	builds atomic.Int32
	reads  atomic.Int32
	// gate, when set, holds every Read until closed.
	gate     chan struct{}
	inFlight atomic.Int32
	peak     atomic.Int32
	creds    []provider.Ref
}

func (p *scripted) Name() string                                           { return "fake" }
func (p *scripted) Referent(*esv1.SecretStoreSpec) bool                    { return false }
func (p *scripted) AmbientIdentity(*esv1.SecretStoreSpec) (string, string) { return "", "" }
func (p *scripted) NewClient(context.Context, esv1.GenericStore, provider.Kube, string) (provider.Client, error) {
	n := p.builds.Add(1)
	return &scriptedClient{p: p, build: n}, nil
}

type scriptedClient struct {
	p     *scripted
	build int32
}

func (c *scriptedClient) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	c.p.reads.Add(1)
	n := c.p.inFlight.Add(1)
	defer c.p.inFlight.Add(-1)
	for {
		peak := c.p.peak.Load()
		if n <= peak || c.p.peak.CompareAndSwap(peak, n) {
			break
		}
	}
	if c.p.gate != nil {
		<-c.p.gate
	}
	if key == "missing" {
		return provider.Secret{}, provider.ErrNotFound
	}
	return provider.Secret{Value: []byte(fmt.Sprintf("%s@%d", key, c.build))}, nil
}
func (c *scriptedClient) Find(context.Context, esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	return nil, nil
}
func (c *scriptedClient) Validate(context.Context) error { return nil }
func (c *scriptedClient) Close()                         {}
func (c *scriptedClient) Credentials() []provider.Ref    { return c.p.creds }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type testKube struct{ client.Reader }

func (testKube) ServiceAccountToken(context.Context, types.NamespacedName, []string, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, errors.New("no tokens here")
}

func fakeStore(gen int64) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "store", UID: "uid-1", Generation: gen},
		Spec:       esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}},
	}
}

func newTestManager(p *scripted, opts Options, objs ...client.Object) (*Manager, *clock, *Metrics) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	opts.Now = clk.Now
	metrics := NewMetrics(prometheus.NewRegistry())
	kube := testKube{fakeclient.NewClientBuilder().WithObjects(objs...).Build()}
	return NewManager(kube, metrics, opts, p), clk, metrics
}

func readsFrom(m *Metrics, source string) int {
	return int(testutil.ToFloat64(m.reads.WithLabelValues("fake", "SecretStore/ns/store", source)))
}

func TestIdenticalReadsInFlightAreCoalesced(t *testing.T) {
	p := &scripted{gate: make(chan struct{})}
	m, _, metrics := newTestManager(p, Options{})
	ctx := context.Background()
	s, err := m.Store(ctx, fakeStore(1), "ns")
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec, _, err := s.Read(ctx, "db", "", 0)
			if err != nil {
				t.Error(err)
			}
			results[i] = string(sec.Value)
		}()
	}
	// Wait until one read is at the store and the rest have joined it.
	for readsFrom(metrics, "coalesced") < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(p.gate)
	wg.Wait()
	if got := p.reads.Load(); got != 1 {
		t.Fatalf("store reads = %d, want 1", got)
	}
	for _, r := range results {
		if r != "db@1" {
			t.Fatalf("a coalesced reader got %q", r)
		}
	}
}

func TestValueCacheHonoursEachReadersAge(t *testing.T) {
	p := &scripted{}
	m, clk, _ := newTestManager(p, Options{ValueCacheMaxAge: time.Minute})
	ctx := context.Background()
	s, err := m.Store(ctx, fakeStore(1), "ns")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		maxAge  time.Duration
		reads   int32 // store reads so far
	}{
		{0, time.Hour, 1},                // first read goes to the store
		{10 * time.Second, time.Hour, 1}, // 10s old: served from cache
		{0, 5 * time.Second, 2},          // this reader allows only 5s: fresh read
		{30 * time.Second, time.Hour, 2}, // 30s old, within the 1m cap
		{31 * time.Second, time.Hour, 3}, // 61s old: beyond the cap
		{0, 0, 4},                        // maxAge 0 (force-sync) always reads
	}
	for i, st := range steps {
		clk.Add(st.advance)
		if _, _, err := s.Read(ctx, "db", "", st.maxAge); err != nil {
			t.Fatal(err)
		}
		if got := p.reads.Load(); got != st.reads {
			t.Fatalf("step %d: store reads = %d, want %d", i, got, st.reads)
		}
	}
}

func TestNotFoundIsReportedAndNotCached(t *testing.T) {
	p := &scripted{}
	m, _, metrics := newTestManager(p, Options{})
	ctx := context.Background()
	s, _ := m.Store(ctx, fakeStore(1), "ns")
	for range 2 {
		if _, _, err := s.Read(ctx, "missing", "", time.Hour); !errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if p.reads.Load() != 2 {
		t.Fatalf("store reads = %d, want 2", p.reads.Load())
	}
	got := testutil.ToFloat64(metrics.calls.WithLabelValues("fake", "SecretStore/ns/store", "Read", "not_found"))
	if got != 2 {
		t.Fatalf("not_found calls metric = %v, want 2", got)
	}
}

func TestClientIsRebuiltWhenStoreOrCredentialsChange(t *testing.T) {
	cred := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cred"}, Data: map[string][]byte{"k": []byte("1")}}
	p := &scripted{creds: []provider.Ref{{Kind: "Secret", Namespace: "ns", Name: "cred"}}}
	m, clk, _ := newTestManager(p, Options{CredentialCheckInterval: 30 * time.Second}, cred)
	ctx := context.Background()
	read := func(gen int64) string {
		t.Helper()
		s, err := m.Store(ctx, fakeStore(gen), "ns")
		if err != nil {
			t.Fatal(err)
		}
		sec, _, err := s.Read(ctx, "db", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return string(sec.Value)
	}
	if got := read(1); got != "db@1" {
		t.Fatalf("first read %q", got)
	}
	if got := read(1); got != "db@1" || p.builds.Load() != 1 {
		t.Fatalf("same store: got %q after %d builds, want the first client", got, p.builds.Load())
	}
	if got := read(2); got != "db@2" {
		t.Fatalf("after a spec change got %q, want a new client and no cached value", got)
	}
	// A credential change is noticed at the next check.
	kube := m.kube.(testKube).Reader.(client.Client)
	cred.Data["k"] = []byte("2")
	if err := kube.Update(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if got := read(2); got != "db@2" {
		t.Fatalf("before the check interval got %q", got)
	}
	clk.Add(31 * time.Second)
	if got := read(2); got != "db@3" {
		t.Fatalf("after a credential change got %q, want a third client", got)
	}
}

func TestConcurrencyCapPerStore(t *testing.T) {
	p := &scripted{gate: make(chan struct{})}
	m, _, _ := newTestManager(p, Options{MaxConcurrent: 3})
	ctx := context.Background()
	s, _ := m.Store(ctx, fakeStore(1), "ns")
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Read(ctx, fmt.Sprintf("k%d", i), "", 0); err != nil {
				t.Error(err)
			}
		}()
	}
	for p.inFlight.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(p.gate)
	wg.Wait()
	if peak := p.peak.Load(); peak != 3 {
		t.Fatalf("peak concurrent reads = %d, want 3", peak)
	}
}

func TestNotFoundEvictsTheCachedValue(t *testing.T) {
	p := &scripted{}
	m, _, _ := newTestManager(p, Options{})
	ctx := context.Background()
	s, _ := m.Store(ctx, fakeStore(1), "ns")
	if _, _, err := s.Read(ctx, "db", "", time.Hour); err != nil {
		t.Fatal(err)
	}
	// The key disappears; a fresh read learns it.
	s.mu.Lock()
	s.values[readKey{key: "missing"}] = s.values[readKey{key: "db"}]
	s.mu.Unlock()
	if _, _, err := s.Read(ctx, "missing", "", 0); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("fresh read: %v", err)
	}
	// A reader that would accept a cached value must not get the old one.
	if _, _, err := s.Read(ctx, "missing", "", time.Hour); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("a value the store no longer has was served from the cache: %v", err)
	}
}
