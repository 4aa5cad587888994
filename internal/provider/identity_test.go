package provider

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func namespacedStore() *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "store"}}
}

func clusterStore() *esv1.ClusterSecretStore {
	return &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "store"}}
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
		{name: "SecretStore: own namespace", store: namespacedStore(), saName: "sa", want: types.NamespacedName{Namespace: "ns", Name: "sa"}},
		{name: "SecretStore: own namespace named", store: namespacedStore(), given: &own, saName: "sa", want: types.NamespacedName{Namespace: "ns", Name: "sa"}},
		{name: "SecretStore: another namespace", store: namespacedStore(), given: &other, saName: "sa",
			wantErr: `f.namespace: a SecretStore may only use its own namespace "ns", not "other"`},
		{name: "ClusterSecretStore: namespace given", store: clusterStore(), given: &other, saName: "sa", want: types.NamespacedName{Namespace: "other", Name: "sa"}},
		{name: "ClusterSecretStore: the user's namespace", store: clusterStore(), saName: "sa", want: types.NamespacedName{Namespace: "user", Name: "sa"}},
		{name: "no name", store: namespacedStore(), wantErr: "f.name: required"},
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
