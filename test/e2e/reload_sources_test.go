package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/manager"
)

// TestReloadSealedSecret: a new value sealed into a SealedSecret reaches
// the Deployment that uses its key, and only that one.
func TestReloadSealedSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	ss := startSealedSecrets(ctx, t, ctlNS, nil)
	pub := &ss.currentKey(ctx, t).Private.PublicKey
	const first, second, other = "postgresql://app:f1rst-Kx@db/app", "postgresql://app:s3cond-Jq@db/app", "api-token-Nn42"
	sealed := sealSecret(t, pub, ns, "backend-secrets", map[string]string{"postgres-db-uri": first, "api-token": other})
	if err := c.Create(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	waitSecret(ctx, t, ns, "backend-secrets", hasData(map[string]string{"postgres-db-uri": first, "api-token": other}))
	ann := map[string]string{reload.ReloaderAuto: "true"}
	uses := deployment(ns, "backend", ann, podSpec(envKey("backend-secrets", "postgres-db-uri"), nil))
	notUsing := deployment(ns, "worker", ann, podSpec(envKey("backend-secrets", "api-token"), nil))
	for _, o := range []client.Object{uses, notUsing} {
		if err := cluster.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	ctl := startReload(ctx, t, ctlNS, []string{ns}, manager.ReloadOptions{})
	before := waitRecorded(ctx, t, uses, notUsing)

	next := sealSecret(t, pub, ns, "backend-secrets", map[string]string{"postgres-db-uri": second, "api-token": other})
	if err := c.Get(ctx, client.ObjectKeyFromObject(sealed), sealed); err != nil {
		t.Fatal(err)
	}
	sealed.Spec.EncryptedData = next.Spec.EncryptedData
	if err := c.Update(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	waitRestarted(ctx, t, before, uses)
	settle()
	// Re-sealing changes every ciphertext, api-token's too; its value did not change.
	assertUntouched(ctx, t, before, notUsing)
	if note := waitReloadEvent(ctx, t, ns, "backend"); !strings.Contains(note, "backend-secrets") {
		t.Errorf("Event note %q does not name the Secret", note)
	}
	assertNoValues(ctx, t, ns, []string{first, second, other}, metricsText(t, ctl.metrics))
}

// TestReloadExternalSecret: a new value in the store, synced by an
// ExternalSecret, restarts the Deployment that uses it, and only that one.
func TestReloadExternalSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app, keyNS := newNamespace(ctx, t), newNamespace(ctx, t)
	const first, second, other = "postgresql://app:Fa1-first@db/aura", "postgresql://app:Sc2-second@db/aura", "unrelated-Vv90"
	src := e.kubeStore(ctx, t, app, "eso-reader", false, map[string]map[string]string{
		"aura-production-postgres": {"db-uri": first},
	})
	e.create(ctx, t,
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "store"},
			Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "eso-reader", nil)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "plain"}, StringData: map[string]string{"k": other}})
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend-secrets"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "store", Kind: "SecretStore"},
			RefreshInterval: esDuration(time.Hour),
			Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura-production-postgres", Property: "db-uri"}}},
		},
	}
	e.create(ctx, t, es)
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool { return string(s.Data["postgres-db-uri"]) == first })
	uses := deployment(app, "backend", map[string]string{reload.SecretsAnnotation: "backend-secrets"},
		podSpec(nil, nil, secretVolume("backend-secrets", "postgres-db-uri")))
	unrelated := deployment(app, "frontend", map[string]string{reload.AutoAnnotation: "true"}, podSpec(nil, envFrom("plain")))
	for _, o := range []client.Object{uses, unrelated} {
		if err := cluster.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	ctl := startReload(ctx, t, keyNS, []string{app}, manager.ReloadOptions{})
	before := waitRecorded(ctx, t, uses, unrelated)

	source := &corev1.Secret{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: src, Name: "aura-production-postgres"}, source); err != nil {
		t.Fatal(err)
	}
	source.Data["db-uri"] = []byte(second)
	if err := e.client.Update(ctx, source); err != nil {
		t.Fatal(err)
	}
	e.forceSync(ctx, t, es)
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool { return string(s.Data["postgres-db-uri"]) == second })
	waitRestarted(ctx, t, before, uses)
	settle()
	assertUntouched(ctx, t, before, unrelated)
	assertNoValues(ctx, t, app, []string{first, second, other}, metricsText(t, ctl.metrics), e.logs.String())
}
