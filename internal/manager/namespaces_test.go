package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// fakeKube serves reads from a fake client and counts token requests.
type fakeKube struct {
	client.Reader
	tokens []types.NamespacedName
}

func (k *fakeKube) ServiceAccountToken(_ context.Context, sa types.NamespacedName, _ []string, expiry time.Duration) (string, time.Time, error) {
	k.tokens = append(k.tokens, sa)
	return "token", time.Now().Add(expiry), nil
}

func testObjects(t *testing.T) client.Client {
	t.Helper()
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	var objs []client.Object
	for _, ns := range []string{"team-a", "team-b", "other"} {
		objs = append(objs,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, Data: map[string][]byte{"k": []byte("v")}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	objs = append(objs, &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "shared"}})
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func TestScopedKube(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		watch   watchSet
		call    func(k provider.Kube) error
		refused string // "" when the call must pass
	}{
		{"Secret in a watched namespace", watchSet{"team-a", "team-b"}, func(k provider.Kube) error {
			return k.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "creds"}, &corev1.Secret{})
		}, ""},
		{"Secret outside", watchSet{"team-a", "team-b"}, func(k provider.Kube) error {
			return k.Get(ctx, client.ObjectKey{Namespace: "other", Name: "creds"}, &corev1.Secret{})
		}, "reading Secret creds in namespace other"},
		{"a namespace's labels (cluster-scoped)", watchSet{"team-a"}, func(k provider.Kube) error {
			return k.Get(ctx, client.ObjectKey{Name: "other"}, &corev1.Namespace{})
		}, ""},
		{"list inside", watchSet{"team-a"}, func(k provider.Kube) error {
			return k.List(ctx, &corev1.SecretList{}, client.InNamespace("team-a"))
		}, ""},
		{"list outside", watchSet{"team-a"}, func(k provider.Kube) error {
			return k.List(ctx, &corev1.SecretList{}, client.InNamespace("other"))
		}, "listing SecretList in namespace other"},
		{"list across namespaces", watchSet{"team-a"}, func(k provider.Kube) error {
			return k.List(ctx, &corev1.SecretList{})
		}, "listing SecretList across all namespaces"},
		{"token inside", watchSet{"team-a"}, func(k provider.Kube) error {
			_, _, err := k.ServiceAccountToken(ctx, types.NamespacedName{Namespace: "team-a", Name: "app"}, nil, time.Minute)
			return err
		}, ""},
		{"token outside", watchSet{"team-a"}, func(k provider.Kube) error {
			_, _, err := k.ServiceAccountToken(ctx, types.NamespacedName{Namespace: "kube-system", Name: "keyward"}, nil, time.Minute)
			return err
		}, "ServiceAccount keyward in namespace kube-system"},
		{"no limit: anything passes", nil, func(k provider.Kube) error {
			return k.Get(ctx, client.ObjectKey{Namespace: "other", Name: "creds"}, &corev1.Secret{})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &fakeKube{Reader: testObjects(t)}
			err := tt.call(scopeKube(inner, tt.watch))
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, ErrOutsideWatched) || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("err = %v, want ErrOutsideWatched naming %q", err, tt.refused)
			}
			if len(inner.tokens) != 0 {
				t.Fatalf("a refused call still requested tokens: %v", inner.tokens)
			}
		})
	}
}

// recordingProvider notes whether NewClient reached it.
type recordingProvider struct{ called bool }

func (p *recordingProvider) Name() string                        { return "kubernetes" }
func (p *recordingProvider) Referent(*esv1.SecretStoreSpec) bool { return false }
func (p *recordingProvider) NewClient(context.Context, esv1.GenericStore, provider.Kube, string) (provider.Client, error) {
	p.called = true
	return nil, nil
}

func TestScopedLocalCluster(t *testing.T) {
	store := func(k esv1.KubernetesProvider) esv1.GenericStore {
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "s"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &k}}}
	}
	ref := &esv1.SecretKeySelector{Name: "kubeconfig", Key: "config"}
	tests := []struct {
		name  string
		store esv1.GenericStore
		ok    bool
	}{
		{"this cluster, watched namespace", store(esv1.KubernetesProvider{RemoteNamespace: "team-b"}), true},
		{"this cluster, other namespace", store(esv1.KubernetesProvider{RemoteNamespace: "kube-system"}), false},
		{"this cluster, default namespace unwatched", store(esv1.KubernetesProvider{}), false},
		{"another cluster by URL", store(esv1.KubernetesProvider{RemoteNamespace: "kube-system",
			Server: esv1.KubernetesServer{URL: "https://other.example:6443"}}), true},
		{"a kubeconfig from a Secret", store(esv1.KubernetesProvider{RemoteNamespace: "kube-system", AuthRef: ref}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingProvider{}
			p := scopeProviders([]provider.Provider{rec}, watchSet{"team-a", "team-b"})[0]
			_, err := p.NewClient(context.Background(), tt.store, nil, "team-a")
			if tt.ok != (err == nil) || rec.called != tt.ok {
				t.Fatalf("err = %v, provider reached = %v; want allowed = %v", err, rec.called, tt.ok)
			}
			if !tt.ok && (!errors.Is(err, ErrOutsideWatched) || !strings.Contains(err.Error(), "spec.provider.kubernetes.remoteNamespace")) {
				t.Fatalf("err = %v, want one naming the field", err)
			}
		})
	}
	// With no limit, the provider is handed over unwrapped.
	rec := &recordingProvider{}
	if p := scopeProviders([]provider.Provider{rec}, nil)[0]; p != provider.Provider(rec) {
		t.Fatalf("unlimited install wrapped the provider: %T", p)
	}
}

func TestScopedClient(t *testing.T) {
	ctx := context.Background()
	c := scopedClient{Client: testObjects(t), watch: watchSet{"team-a"}}
	inside := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "new"}}
	outside := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "new"}}
	tests := []struct {
		name    string
		call    func() error
		refused string
	}{
		{"create inside", func() error { return c.Create(ctx, inside.DeepCopy()) }, ""},
		{"create outside", func() error { return c.Create(ctx, outside.DeepCopy()) }, "creating Secret in namespace other"},
		{"update outside", func() error {
			return c.Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "creds"}})
		}, "updating Secret in namespace other"},
		{"patch outside", func() error {
			return c.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "creds"}},
				client.RawPatch(types.MergePatchType, []byte(`{"data":null}`)))
		}, "patching Secret in namespace other"},
		{"delete outside", func() error {
			return c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "creds"}})
		}, "deleting Secret in namespace other"},
		{"delete all across namespaces", func() error { return c.DeleteAllOf(ctx, &corev1.Secret{}) }, "across all namespaces"},
		{"read outside", func() error {
			return c.Get(ctx, client.ObjectKey{Namespace: "other", Name: "creds"}, &corev1.Secret{})
		}, "reading Secret in namespace other"},
		{"ClusterSecretStore", func() error {
			return c.Get(ctx, client.ObjectKey{Name: "shared"}, &esv1.ClusterSecretStore{})
		}, "cluster-scoped stores"},
		{"list ClusterSecretStores", func() error { return c.List(ctx, &esv1.ClusterSecretStoreList{}) }, "cluster-scoped stores"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("err = %v, want one containing %q", err, tt.refused)
			}
		})
	}
	// Nothing outside was written: the Secret there is as it was.
	var s corev1.Secret
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "other", Name: "creds"}, &s); err != nil || string(s.Data["k"]) != "v" {
		t.Fatalf("Secret other/creds: err %v, keys %d", err, len(s.Data))
	}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "other", Name: "new"}, &corev1.Secret{}); err == nil {
		t.Fatal("a Secret was created outside the watched namespaces")
	}
}
