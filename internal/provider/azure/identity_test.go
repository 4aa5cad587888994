package azure

import (
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestAmbientIdentity(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name     string
		authType *string
		want     string
	}{
		{name: "managed identity", authType: str("ManagedIdentity"), want: "spec.provider.azurekv.authType"},
		{name: "service principal by default"},
		{name: "service principal", authType: str("ServicePrincipal")},
		{name: "workload identity", authType: str("WorkloadIdentity")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{AuthType: tc.authType}}}
			if got, _ := New().AmbientIdentity(spec); got != tc.want {
				t.Fatalf("AmbientIdentity = %q, want %q", got, tc.want)
			}
		})
	}
}
