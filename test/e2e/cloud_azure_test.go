package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

const azureTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// TestCloudAzure: the guide's shape syncs from Key Vault (the package's
// wire-level stand-in) with service-principal auth, and 100 ExternalSecrets
// sharing 10 keys cost one secret read per key.
func TestCloudAzure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	fake := e.azure
	const clientID, clientSecret = "5d1c0f3e-2a4b-4c6d-8e9f-0a1b2c3d4e5f", "e2e-sp-client-secret"
	fake.ClientSecrets[clientID] = clientSecret
	fake.Put("aura-production-postgres", `{"db-uri":"postgresql://aura:s3cr3t@db.internal/aura"}`, nil)
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("aura-shared-%d", i))
		fake.Put(keys[i], fmt.Sprintf(`{"db-uri":"postgresql://shared-%d"}`, i), nil)
	}

	vaultURL, tenant := "https://aura-prod.vault.azure.net/", azureTenant
	store := func(ns string) []client.Object {
		return []client.Object{
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure-sp"},
				StringData: map[string]string{"client-id": clientID, "client-secret": clientSecret}},
			&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure-key-vault"},
				Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{
					VaultURL: &vaultURL, TenantID: &tenant,
					AuthSecretRef: &esv1.AzureKVAuth{
						ClientID:     &esv1.SecretKeySelector{Name: "azure-sp", Key: "client-id"},
						ClientSecret: &esv1.SecretKeySelector{Name: "azure-sp", Key: "client-secret"},
					},
				}}}},
		}
	}
	app := newNamespace(ctx, t)
	e.create(ctx, t, append(store(app), sameShape(app, "backend-secrets", "azure-key-vault", "aura-production-postgres"))...)
	e.waitReady(ctx, t, app, "backend-secrets", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	s := e.waitSecret(ctx, t, app, "backend-secrets", nil)
	if got := string(s.Data["postgres-db-uri"]); got != "postgresql://aura:s3cr3t@db.internal/aura" {
		t.Fatalf("data = %v", s.Data)
	}

	ns := newNamespace(ctx, t)
	e.create(ctx, t, store(ns)...)
	before := fake.Count("GetSecret")
	e.fanOut(ctx, t, ns, "azure-key-vault", 100, keys)
	reads := fake.Count("GetSecret") - before
	t.Logf("azure-key-vault: 100 ExternalSecrets over 10 keys: %d GetSecret requests (a new client's first request per key is Key Vault's unauthenticated challenge)", reads)
	if reads > 20 {
		t.Errorf("%d GetSecret requests for 10 shared keys, want at most 20 (10 reads, each first met by the login challenge)", reads)
	}
	if m := e.metricsText(t); containsAny(m, "s3cr3t", clientSecret) != "" {
		t.Fatal("a secret value or credential reached the metrics")
	}
}
