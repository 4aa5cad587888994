package storeref

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestResolve(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := esv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	fake := &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"team": "a"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-b"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "own"},
			Spec: esv1.SecretStoreSpec{Provider: fake}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "other-class"},
			Spec: esv1.SecretStoreSpec{Provider: fake, Controller: "other"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "no-provider"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "refused"},
			Spec: esv1.SecretStoreSpec{Provider: fake},
			Status: esv1.SecretStoreStatus{Conditions: []esv1.SecretStoreStatusCondition{{
				Type: esv1.SecretStoreReady, Status: corev1.ConditionFalse,
				Reason: esv1.ReasonInvalidStoreConfig, Message: "bad config"}}}},
		&esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "labelled"},
			Spec: esv1.SecretStoreSpec{Provider: fake, Conditions: []esv1.ClusterSecretStoreCondition{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}}},
		&esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "by-regex"},
			Spec: esv1.SecretStoreSpec{Provider: fake, Conditions: []esv1.ClusterSecretStoreCondition{{
				NamespaceRegexes: []string{"^team-b$"}}}}},
	}
	r := fakeclient.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	tests := []struct {
		name      string
		ref       esv1.SecretStoreRef
		namespace string
		wantErr   string
		other     bool
	}{
		{name: "own SecretStore", ref: esv1.SecretStoreRef{Name: "own"}, namespace: "team-a"},
		{name: "no name", ref: esv1.SecretStoreRef{}, namespace: "team-a", wantErr: "secretStoreRef.name: no store is named"},
		{name: "unknown kind", ref: esv1.SecretStoreRef{Name: "own", Kind: "Vault"}, namespace: "team-a", wantErr: `secretStoreRef.kind: "Vault" is neither`},
		{name: "SecretStore of another namespace", ref: esv1.SecretStoreRef{Name: "own"}, namespace: "team-b", wantErr: "SecretStore team-b/own:"},
		{name: "another controller class", ref: esv1.SecretStoreRef{Name: "other-class"}, namespace: "team-a", other: true},
		{name: "no provider", ref: esv1.SecretStoreRef{Name: "no-provider"}, namespace: "team-a", wantErr: "SecretStore no-provider: spec.provider is not set"},
		{name: "refused by its controller", ref: esv1.SecretStoreRef{Name: "refused"}, namespace: "team-a", wantErr: "SecretStore refused is not usable: bad config"},
		{name: "namespace selector matches", ref: esv1.SecretStoreRef{Name: "labelled", Kind: esv1.ClusterSecretStoreKind}, namespace: "team-a"},
		{name: "namespace selector does not match", ref: esv1.SecretStoreRef{Name: "labelled", Kind: esv1.ClusterSecretStoreKind}, namespace: "team-b",
			wantErr: "ClusterSecretStore labelled: its spec.conditions do not allow namespace team-b"},
		{name: "namespace regex matches", ref: esv1.SecretStoreRef{Name: "by-regex", Kind: esv1.ClusterSecretStoreKind}, namespace: "team-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, err := Resolve(context.Background(), r, tt.ref, tt.namespace, "")
			switch {
			case tt.other:
				if !errors.Is(err, ErrOtherController) {
					t.Fatalf("error %v; want ErrOtherController", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Resolve: %v", err)
			case store.GetName() != tt.ref.Name:
				t.Fatalf("resolved %s, want %s", store.GetName(), tt.ref.Name)
			}
		})
	}
}
