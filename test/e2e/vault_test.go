package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
)

// TestVaultGuideExternalSecret is the guide's production path against a
// real Vault: the ExternalSecret (Secret backend-secrets, key
// postgres-db-uri from aura/production/postgres property db-uri) syncs
// through Kubernetes auth; a value rotated in Vault arrives by itself;
// Vault going away leaves the Secret as it was and reports Ready=False;
// Vault coming back (empty, so the controller's token is unknown to it)
// recovers with a new login. No planted value reaches logs, events,
// status or metrics.
func TestVaultGuideExternalSecret(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 5*time.Minute)
	first := "postgresql://app:PLANTED-" + rand.String(12) + "@db/aura"
	vs.put(t, "aura/production/postgres", map[string]any{"db-uri": first})
	mark := vs.v.AuditMark()

	e.create(ctx, t, vs.store("vault-backend", vs.auths()["kubernetes"]))
	e.applyGuide(ctx, t, app, "vault-backend", "aura/production/postgres", "2s")
	e.waitReady(ctx, t, app, "backend-secrets", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool { return string(s.Data["postgres-db-uri"]) == first })

	// Rotated in Vault: the 2s refresh brings it without a nudge.
	rotated := "postgresql://app:PLANTED-" + rand.String(12) + "@db/aura"
	vs.put(t, "aura/production/postgres", map[string]any{"db-uri": rotated})
	start := time.Now()
	before := e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool { return string(s.Data["postgres-db-uri"]) == rotated })
	t.Logf("the rotated value reached the Secret %s after it was written (refreshInterval 2s)", time.Since(start).Round(100*time.Millisecond))
	if got := vs.requests(t, mark); logins(got) != 1 || got["update auth/kubernetes/login"] != 1 {
		t.Errorf("requests so far = %v; want exactly one (Kubernetes) login for the store", got)
	}

	// Vault goes away: Ready=False naming the store, the Secret untouched.
	vs.v.Halt()
	es := e.waitReady(ctx, t, app, "backend-secrets", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	if msg := readyCondition(es).Message; !strings.Contains(msg, "SecretStore/"+app+"/vault-backend") {
		t.Errorf("the failure does not name the store: %q", msg)
	}
	after := e.waitSecret(ctx, t, app, "backend-secrets", nil)
	if after.ResourceVersion != before.ResourceVersion || string(after.Data["postgres-db-uri"]) != rotated {
		t.Error("a failed sync changed the Secret")
	}

	// Vault returns with empty storage: the controller's token means nothing
	// to it any more, so the client logs in again and the sync recovers.
	if err := vs.v.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	vs.apply(t)
	third := "postgresql://app:PLANTED-" + rand.String(12) + "@db/aura"
	vs.put(t, "aura/production/postgres", map[string]any{"db-uri": third})
	restarted := vs.v.AuditMark()
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool { return string(s.Data["postgres-db-uri"]) == third })
	e.waitReady(ctx, t, app, "backend-secrets", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	if got := vs.requests(t, restarted); got["update auth/kubernetes/login"] < 1 {
		t.Errorf("requests after the restart = %v; want a new Kubernetes login", got)
	}

	noLeaks(ctx, t, e, app, first, rotated, third, vs.secretID, vs.password, vs.token, vs.reviewer)
}

// TestVaultEachAuthMethod syncs through a store per auth method: each
// logs in once and keeps its token across refreshes (never a login per
// sync), Kubernetes auth with Vault calling TokenReview on the real API
// server, JWT with the cluster's own ServiceAccount tokens.
func TestVaultEachAuthMethod(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 5*time.Minute)
	value := "PLANTED-" + rand.String(12)
	vs.put(t, "aura/production/postgres", map[string]any{"db-uri": value})
	vs.credentials(ctx, t, e)
	mark := vs.v.AuditMark()

	methods := vs.auths()
	for method, auth := range methods {
		es := &esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "via-" + method},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: "vault-" + method, Kind: esv1.SecretStoreKind},
				RefreshInterval: esDuration(time.Second),
				Data: []esv1.ExternalSecretData{{SecretKey: "db-uri",
					RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura/production/postgres", Property: "db-uri"}}},
			},
		}
		e.create(ctx, t, vs.store("vault-"+method, auth), es)
	}
	for method := range methods {
		e.waitReady(ctx, t, app, "via-"+method, corev1.ConditionTrue, esv1.ReasonSecretSynced)
		e.waitSecret(ctx, t, app, "via-"+method, func(s *corev1.Secret) bool { return string(s.Data["db-uri"]) == value })
	}

	// Let every store serve several refreshes, then count the logins.
	rotated := "PLANTED-" + rand.String(12)
	for i := range 3 {
		v := fmt.Sprintf("%s-%d", rotated, i)
		vs.put(t, "aura/production/postgres", map[string]any{"db-uri": v})
		for method := range methods {
			e.waitSecret(ctx, t, app, "via-"+method, func(s *corev1.Secret) bool { return string(s.Data["db-uri"]) == v })
		}
	}
	got := vs.requests(t, mark)
	for method, path := range map[string]string{"approle": "auth/approle/login", "userpass": "auth/userpass/login/keyward",
		"kubernetes": "auth/kubernetes/login", "jwt": "auth/jwt/login"} {
		if got["update "+path] != 1 {
			t.Errorf("%s: %d logins at %s; want exactly 1 across every sync", method, got["update "+path], path)
		}
	}
	if logins(got) != 4 {
		t.Errorf("requests = %v; want 4 logins (the token store logs in never)", got)
	}
	noLeaks(ctx, t, e, app, value, rotated, vs.secretID, vs.password, vs.token)
}

// TestVaultRevokedTokenIsReplaced revokes every token AppRole issued,
// behind the controller's back: the next refresh logs in again and the
// rotated value still arrives.
func TestVaultRevokedTokenIsReplaced(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 3*time.Minute)
	vs.put(t, "app/config", map[string]any{"k": "one"})
	vs.credentials(ctx, t, e)
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "app"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
			RefreshInterval: esDuration(time.Second),
			DataFrom:        []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "app/config"}}},
		},
	}
	e.create(ctx, t, vs.store("vault", vs.auths()["approle"]), es)
	e.waitSecret(ctx, t, app, "app", func(s *corev1.Secret) bool { return string(s.Data["k"]) == "one" })

	mark := vs.v.AuditMark()
	vs.write(t, "sys/leases/revoke-prefix/auth/approle", nil)
	vs.put(t, "app/config", map[string]any{"k": "two"})
	e.waitSecret(ctx, t, app, "app", func(s *corev1.Secret) bool { return string(s.Data["k"]) == "two" })
	if got := vs.requests(t, mark); got["update auth/approle/login"] != 1 {
		t.Errorf("requests after the revocation = %v; want exactly one new login", got)
	}
	e.waitReady(ctx, t, app, "app", corev1.ConditionTrue, esv1.ReasonSecretSynced)
}

// TestVaultPushSecretCheckAndSet is the guide's step from staging to
// production: a PushSecret writes the staging Secret's value into Vault KV
// v2 with check-and-set, and an ExternalSecret reads it back.
func TestVaultPushSecretCheckAndSet(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 3*time.Minute)
	vs.credentials(ctx, t, e)
	// The mount refuses writes that do not say which version they replace.
	vs.write(t, "secret/config", map[string]any{"cas_required": true})
	store := vs.store("vault", vs.auths()["approle"])
	store.Spec.Provider.Vault.CheckAndSet = &esv1.VaultCheckAndSet{Required: true}
	value := "postgresql://app:PLANTED-" + rand.String(12) + "@db/aura"
	e.create(ctx, t, store,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "staging-postgres"}, StringData: map[string]string{"db-uri": value}},
		&esv1alpha1.PushSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "promote"},
			Spec: esv1alpha1.PushSecretSpec{
				RefreshInterval: &metav1.Duration{Duration: time.Second},
				SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "vault", Kind: esv1.SecretStoreKind}},
				Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "staging-postgres"}},
				Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: "db-uri",
					RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "aura/production/postgres", Property: "db-uri"}}}},
			},
		},
	)
	kv := vs.v.Client.KVv2("secret")
	eventually(ctx, t, "the pushed value in Vault", func(ctx context.Context) (bool, error) {
		s, err := kv.Get(ctx, "aura/production/postgres")
		return err == nil && s.Data["db-uri"] == value, nil
	})
	md, err := kv.GetMetadata(ctx, "aura/production/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if md.CustomMetadata["managed-by"] != "external-secrets" || md.CurrentVersion != 1 {
		t.Errorf("metadata = version %d, custom %v; want version 1 marked as pushed", md.CurrentVersion, md.CustomMetadata)
	}

	// The staging value changes: the next push replaces version 1 by name.
	next := value + "-2"
	src := &corev1.Secret{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: "staging-postgres"}, src); err != nil {
		t.Fatal(err)
	}
	src.Data["db-uri"] = []byte(next)
	if err := e.client.Update(ctx, src); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "the second push", func(ctx context.Context) (bool, error) {
		s, err := kv.Get(ctx, "aura/production/postgres")
		return err == nil && s.Data["db-uri"] == next && s.VersionMetadata.Version == 2, nil
	})

	e.create(ctx, t, &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend-secrets"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
			Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura/production/postgres", Property: "db-uri"}}},
		},
	})
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool { return string(s.Data["postgres-db-uri"]) == next })
	noLeaks(ctx, t, e, app, value, vs.secretID)
}

// noLeaks checks that no planted string, nor its base64 form, reached the
// ExternalSecrets, SecretStores or PushSecrets, the events, the
// controller's logs or its metrics.
func noLeaks(ctx context.Context, t *testing.T, e *esEnv, ns string, planted ...string) {
	t.Helper()
	var needles []string
	for _, p := range planted {
		if p != "" {
			needles = append(needles, p, base64.StdEncoding.EncodeToString([]byte(p)))
		}
	}
	texts := map[string]string{"logs": e.logs.String(), "metrics": e.metricsText(t)}
	for what, list := range map[string]client.ObjectList{
		"ExternalSecrets": &esv1.ExternalSecretList{}, "SecretStores": &esv1.SecretStoreList{},
		"PushSecrets": &esv1alpha1.PushSecretList{}, "events": &eventsv1.EventList{},
	} {
		if err := e.client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(list)
		texts[what] = string(b)
	}
	for what, text := range texts {
		if leak := containsAny(text, needles...); leak != "" {
			t.Errorf("a planted value reached the %s", what)
		}
	}
}

// TestVaultMetadataAndFind reads a secret's custom metadata
// (metadataPolicy Fetch) and finds secrets by their custom-metadata tags
// through the controller.
func TestVaultMetadataAndFind(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 3*time.Minute)
	vs.credentials(ctx, t, e)
	for path, env := range map[string]string{"aura/production/postgres": "production", "aura/production/redis": "production", "aura/staging/postgres": "staging"} {
		vs.put(t, path, map[string]any{"uri": path})
		vs.write(t, "secret/metadata/"+path, map[string]any{"custom_metadata": map[string]any{"env": env, "owner": "team-aura"}})
	}
	e.create(ctx, t, vs.store("vault", vs.auths()["approle"]), &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "production"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
			Data: []esv1.ExternalSecretData{{SecretKey: "owner", RemoteRef: esv1.ExternalSecretDataRemoteRef{
				Key: "aura/production/postgres", Property: "owner", MetadataPolicy: esv1.MetadataPolicyFetch}}},
			DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Tags: map[string]string{"env": "production"}}}},
		},
	})
	s := e.waitSecret(ctx, t, app, "production", nil)
	want := map[string]string{
		"owner":                    "team-aura",
		"aura_production_postgres": `{"uri":"aura/production/postgres"}`,
		"aura_production_redis":    `{"uri":"aura/production/redis"}`,
	}
	if len(s.Data) != len(want) {
		t.Fatalf("Secret keys = %v; want %v", keysOf(s.Data), want)
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("%s = %q; want %q", k, s.Data[k], v)
		}
	}
}
