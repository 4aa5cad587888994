package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider/gcp"
	gcpfake "github.com/keyward/keyward/test/fakes/gcp"
)

// TestCloudGCP: the guide's shape syncs from Secret Manager, reached through
// SECRETMANAGER_EMULATOR_HOST (the gRPC stand-in on loopback), and 100
// ExternalSecrets sharing 10 keys cost one AccessSecretVersion per key.
func TestCloudGCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fake, err := gcpfake.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	// Read when a store's client is built, which happens in this test.
	t.Setenv(gcp.EmulatorHostEnv, fake.Addr)
	const project = "aura-prod"
	fake.Put(project, "aura-production-postgres", []byte(`{"db-uri":"postgresql://aura:s3cr3t@db.internal/aura"}`), nil)
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("aura-shared-%d", i))
		fake.Put(project, keys[i], []byte(fmt.Sprintf(`{"db-uri":"postgresql://shared-%d"}`, i)), nil)
	}

	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	store := func(ns string) *esv1.SecretStore {
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcp-secret-manager"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: project}}}}
	}
	e.create(ctx, t, store(app), sameShape(app, "backend-secrets", "gcp-secret-manager", "aura-production-postgres"))
	e.waitReady(ctx, t, app, "backend-secrets", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	s := e.waitSecret(ctx, t, app, "backend-secrets", nil)
	if got := string(s.Data["postgres-db-uri"]); got != "postgresql://aura:s3cr3t@db.internal/aura" {
		t.Fatalf("data = %v", s.Data)
	}

	ns := newNamespace(ctx, t)
	e.create(ctx, t, store(ns))
	before := fake.Calls()
	e.fanOut(ctx, t, ns, "gcp-secret-manager", 100, keys)
	after := fake.Calls()
	reads := after["AccessSecretVersion"] - before["AccessSecretVersion"]
	t.Logf("gcp-secret-manager: 100 ExternalSecrets over 10 keys: %d AccessSecretVersion calls, all calls %v", reads, diff(before, after))
	if reads != 10 {
		t.Errorf("%d reads for 10 shared keys, want 10", reads)
	}
}
