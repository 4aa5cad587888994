package cli

import (
	"maps"
	"slices"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestCredentialSecrets(t *testing.T) {
	other := "other"
	for _, tc := range []struct {
		name string
		spec esv1.SecretStoreSpec
		want []string
	}{
		{name: "vault token", spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
			Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}}}},
			want: []string{"vault-token"}},
		{name: "aws keys, one in another namespace", spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Auth: esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
				AccessKeyID:     esv1.SecretKeySelector{Name: "aws-credentials", Key: "id"},
				SecretAccessKey: esv1.SecretKeySelector{Name: "elsewhere", Key: "secret", Namespace: &other},
			}}}}},
			want: []string{"aws-credentials"}},
		{name: "no credentials", spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: "http://v"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(credentialSecrets(&tc.spec, "production")))
			if !slices.Equal(got, tc.want) {
				t.Errorf("credentialSecrets = %v, want %v", got, tc.want)
			}
		})
	}
}
