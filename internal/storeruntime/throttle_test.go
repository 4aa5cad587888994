package storeruntime

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// metaProvider's clients report a throttle on every call and serve metadata.
type metaProvider struct{ scripted }

func (p *metaProvider) NewClient(ctx context.Context, store esv1.GenericStore, k provider.Kube, ns string) (provider.Client, error) {
	c, err := p.scripted.NewClient(ctx, store, k, ns)
	return &metaClient{c.(*scriptedClient)}, err
}

type metaClient struct{ *scriptedClient }

func (c *metaClient) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	provider.StoreThrottled(ctx)
	return c.scriptedClient.Read(ctx, key, version)
}

func (c *metaClient) ReadMetadata(ctx context.Context, key string) (provider.Secret, error) {
	return provider.Secret{Value: []byte(`{"team":"` + key + `"}`)}, nil
}

func TestStoreThrottlesAreCountedPerCall(t *testing.T) {
	p := &metaProvider{}
	_, _, metrics := newTestManager(&p.scripted, Options{})
	m := NewManager(metricsTestKube(), metrics, Options{}, p)
	ctx := context.Background()
	s, err := m.Store(ctx, fakeStore(1), "ns")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := s.Read(ctx, "db", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(metrics.storeThrottled.WithLabelValues("fake", "SecretStore/ns/store", "Read")); got != 3 {
		t.Fatalf("store throttles counted = %v, want 3", got)
	}
	// Outside a Store call, reporting is a no-op.
	provider.StoreThrottled(context.Background())
}

func TestMetadataReadsAreSeparateFromValues(t *testing.T) {
	p := &metaProvider{}
	m := NewManager(metricsTestKube(), nil, Options{}, p)
	ctx := context.Background()
	s, err := m.Store(ctx, fakeStore(1), "ns")
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Read(ctx, "db", "", 0)
	if err != nil || string(v.Value) != "db@1" {
		t.Fatalf("Read = %q, %v", v.Value, err)
	}
	md, _, err := s.ReadMetadata(ctx, "db", 0)
	if err != nil || string(md.Value) != `{"team":"db"}` {
		t.Fatalf("ReadMetadata = %q, %v", md.Value, err)
	}

	plain := NewManager(metricsTestKube(), nil, Options{}, &scripted{})
	ps, err := plain.Store(ctx, fakeStore(1), "ns")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ps.ReadMetadata(ctx, "db", 0); err == nil || !strings.Contains(err.Error(), "no metadata") {
		t.Fatalf("ReadMetadata on a store without metadata: %v", err)
	}
}

func metricsTestKube() provider.Kube { return testKube{fakeclient.NewClientBuilder().Build()} }
