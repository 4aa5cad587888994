package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
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

func TestServiceAccountNamespaceRules(t *testing.T) {
	other, own := "other", "ns"
	tests := []struct {
		name    string
		store   esv1.GenericStore
		given   *string
		saName  string
		want    types.NamespacedName
		wantErr string
	}{
		{name: "SecretStore: own namespace", store: fakeStore(1), saName: "sa", want: types.NamespacedName{Namespace: "ns", Name: "sa"}},
		{name: "SecretStore: own namespace named", store: fakeStore(1), given: &own, saName: "sa", want: types.NamespacedName{Namespace: "ns", Name: "sa"}},
		{name: "SecretStore: another namespace", store: fakeStore(1), given: &other, saName: "sa",
			wantErr: `f.namespace: a SecretStore may only use its own namespace "ns", not "other"`},
		{name: "ClusterSecretStore: namespace given", store: clusterFakeStore(), given: &other, saName: "sa", want: types.NamespacedName{Namespace: "other", Name: "sa"}},
		{name: "ClusterSecretStore: the user's namespace", store: clusterFakeStore(), saName: "sa", want: types.NamespacedName{Namespace: "user", Name: "sa"}},
		{name: "no name", store: fakeStore(1), wantErr: "f.name: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ServiceAccountNamespace(tt.store, "user", esv1.ServiceAccountSelector{Name: tt.saName, Namespace: tt.given}, "f")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestTokenRequestsAreShortLivedAndScoped(t *testing.T) {
	tests := []struct {
		name      string
		asked     time.Duration
		audiences []string
	}{
		{name: "an hour asked", asked: time.Hour, audiences: []string{"vault"}},
		{name: "nothing asked", asked: 0, audiences: nil},
		{name: "a day asked", asked: 24 * time.Hour, audiences: []string{"sts.amazonaws.com", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset()
			var got *authenticationv1.TokenRequest
			var gotNS, gotName string
			cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
				ca := a.(k8stesting.CreateActionImpl)
				if ca.GetSubresource() != "token" {
					return false, nil, nil
				}
				got = ca.GetObject().(*authenticationv1.TokenRequest)
				gotNS, gotName = ca.GetNamespace(), ca.Name
				out := got.DeepCopy()
				out.Status = authenticationv1.TokenRequestStatus{Token: "tok", ExpirationTimestamp: metav1.NewTime(time.Unix(1_700_000_600, 0))}
				return true, out, nil
			})
			k := NewKube(nil, cs.CoreV1())
			tok, _, err := k.ServiceAccountToken(context.Background(), types.NamespacedName{Namespace: "ns", Name: "sa"}, tt.audiences, tt.asked)
			if err != nil || tok != "tok" {
				t.Fatalf("token %q, %v", tok, err)
			}
			if got.Spec.ExpirationSeconds == nil || *got.Spec.ExpirationSeconds != 600 {
				t.Errorf("expirationSeconds %v, want 600", got.Spec.ExpirationSeconds)
			}
			if strings.Join(got.Spec.Audiences, ",") != strings.Join(tt.audiences, ",") {
				t.Errorf("audiences %v, want %v", got.Spec.Audiences, tt.audiences)
			}
			if gotNS != "ns" || gotName != "sa" {
				t.Errorf("token for %s/%s, want ns/sa", gotNS, gotName)
			}
		})
	}
}
