package storeruntime

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// ambient is a scripted provider reporting field as the store's ambient identity.
type ambient struct {
	*scripted
	field string
}

func (a *ambient) AmbientIdentity(*esv1.SecretStoreSpec) (string, string) {
	if a.field == "" {
		return "", ""
	}
	return a.field, "credA or credB"
}

func newAmbientManager(p *ambient, opts Options) *Manager {
	return NewManager(testKube{fakeclient.NewClientBuilder().Build()}, nil, opts, p)
}

func clusterFakeStore() *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "store", UID: "uid-2", Generation: 1},
		Spec:       esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}},
	}
}

func TestManagerRefusesNamespacedStoresActingAsTheController(t *testing.T) {
	const field = "spec.provider.fake.auth"
	tests := []struct {
		name    string
		store   esv1.GenericStore
		field   string
		allow   bool
		refused bool
	}{
		{name: "SecretStore naming no credentials", store: fakeStore(1), field: field, refused: true},
		{name: "SecretStore naming its own credentials", store: fakeStore(1)},
		{name: "ClusterSecretStore naming no credentials", store: clusterFakeStore(), field: field},
		{name: "SecretStore allowed by the option", store: fakeStore(1), field: field, allow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &ambient{scripted: &scripted{}, field: tt.field}
			m := newAmbientManager(p, Options{AllowControllerIdentityInNamespacedStores: tt.allow})
			_, err := m.Store(context.Background(), tt.store, "ns")
			if !tt.refused {
				if err != nil {
					t.Fatalf("Store: %v", err)
				}
				if p.builds.Load() != 1 {
					t.Fatalf("%d clients built, want 1", p.builds.Load())
				}
				return
			}
			if !errors.Is(err, ErrControllerIdentity) {
				t.Fatalf("Store error %v; want ErrControllerIdentity", err)
			}
			want := "SecretStore/ns/store: spec.provider.fake.auth: a SecretStore must name its own credentials (credA or credB); only a ClusterSecretStore may act with the controller's identity"
			if err.Error() != want {
				t.Errorf("error %q\nwant  %q", err, want)
			}
			if p.builds.Load() != 0 {
				t.Errorf("a client was built for a refused store")
			}
		})
	}
}

func TestManagerDropsTheClientOfAStoreThatTurnsAmbient(t *testing.T) {
	p := &ambient{scripted: &scripted{}}
	m := newAmbientManager(p, Options{})
	if _, err := m.Store(context.Background(), fakeStore(1), "ns"); err != nil {
		t.Fatal(err)
	}
	p.field = "spec.provider.fake.auth"
	if _, err := m.Store(context.Background(), fakeStore(2), "ns"); !errors.Is(err, ErrControllerIdentity) {
		t.Fatalf("Store error %v; want ErrControllerIdentity", err)
	}
	if n := len(m.stores); n != 0 {
		t.Errorf("%d store handles kept after the refusal; want 0", n)
	}
}

func TestClientIsRebuiltWhenSettingsAnnotationsChange(t *testing.T) {
	p := &scripted{}
	m, _, _ := newTestManager(p, Options{})
	ctx := context.Background()
	steps := []struct {
		annotations map[string]string
		builds      int32
	}{
		{nil, 1},
		{map[string]string{"unrelated": "x"}, 1},
		{map[string]string{"externalsecrets.keyward.dev/push-may-overwrite": "true"}, 2},
		{map[string]string{"externalsecrets.keyward.dev/push-may-overwrite": "true", "other": "y"}, 2},
		{nil, 3},
	}
	for i, st := range steps {
		s := fakeStore(1)
		s.Annotations = st.annotations
		if _, err := m.Store(ctx, s, "ns"); err != nil {
			t.Fatal(err)
		}
		if got := p.builds.Load(); got != st.builds {
			t.Errorf("step %d: %d builds, want %d", i, got, st.builds)
		}
	}
}
