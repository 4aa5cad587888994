package vault

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestAmbientIdentity(t *testing.T) {
	sa := &esv1.ServiceAccountSelector{Name: "sa"}
	tok := ref("t", "t")
	for _, tc := range []struct {
		name string
		auth *esv1.VaultAuth
		want string
	}{
		{"kubernetes with the controller's token", &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "r"}}, "spec.provider.vault.auth.kubernetes"},
		{"kubernetes with a ServiceAccount", &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "r", ServiceAccountRef: sa}}, ""},
		{"kubernetes with a token Secret", &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "r", SecretRef: &tok}}, ""},
		{"token", &esv1.VaultAuth{TokenSecretRef: &tok}, ""},
		{"appRole", &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: "x", SecretRef: tok}}, ""},
		{"jwt from a ServiceAccount", &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{ServiceAccountRef: *sa}}}, ""},
		{"no auth (refused when built)", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: "https://v", Auth: tc.auth}}}
			got, instead := New().AmbientIdentity(spec)
			if got != tc.want {
				t.Fatalf("AmbientIdentity = %q, want %q", got, tc.want)
			}
			if got != "" && instead != "serviceAccountRef or secretRef" {
				t.Fatalf("instead = %q", instead)
			}
		})
	}
}

// TestServiceAccountTokenNamespace: a SecretStore gets tokens only for
// ServiceAccounts of its own namespace; naming another is an error, not a
// silent substitution.
func TestServiceAccountTokenNamespace(t *testing.T) {
	other, own := "other", testNS
	cluster := &esv1.ClusterSecretStore{
		TypeMeta:   metav1.TypeMeta{Kind: esv1.ClusterSecretStoreKind},
		ObjectMeta: metav1.ObjectMeta{Name: "vault", UID: "u2", Generation: 1},
	}
	for _, tc := range []struct {
		name    string
		store   esv1.GenericStore
		ns      *string
		want    types.NamespacedName
		wantErr string
	}{
		{name: "SecretStore, own namespace", store: store(&esv1.VaultProvider{}), want: types.NamespacedName{Namespace: testNS, Name: "sa"}},
		{name: "SecretStore, own namespace named", store: store(&esv1.VaultProvider{}), ns: &own, want: types.NamespacedName{Namespace: testNS, Name: "sa"}},
		{name: "SecretStore, another namespace", store: store(&esv1.VaultProvider{}), ns: &other, wantErr: `f.namespace: a SecretStore may only use its own namespace "app", not "other"`},
		{name: "ClusterSecretStore, namespace named", store: cluster, ns: &other, want: types.NamespacedName{Namespace: "other", Name: "sa"}},
		{name: "ClusterSecretStore, the user's namespace", store: cluster, want: types.NamespacedName{Namespace: "user", Name: "sa"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKube(t, nil)
			k.mint = func(types.NamespacedName, []string) string { return "jwt" }
			get := New().serviceAccountToken(tc.store, k, "user", esv1.ServiceAccountSelector{Name: "sa", Namespace: tc.ns}, []string{"vault"}, "f")
			tok, err := get(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if len(k.requests) != 0 {
					t.Fatalf("tokens requested: %v", k.requests)
				}
				return
			}
			if err != nil || tok != "jwt" {
				t.Fatalf("token %q, %v", tok, err)
			}
			if len(k.requests) != 1 || k.requests[0] != tc.want {
				t.Fatalf("requests %v, want [%v]", k.requests, tc.want)
			}
		})
	}
}
