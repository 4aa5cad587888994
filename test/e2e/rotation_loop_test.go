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
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/proc"
)

// rotationPolicy lets a token write and read the KV v2 mount secret/.
const rotationPolicy = `
path "secret/data/*"     { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["create", "read", "update", "list", "delete"] }
`

// TestRotationLoopThroughVault walks the guide's production rotation with
// the commands a team runs: a Password generator feeds a PushSecret into
// the real Vault, an ExternalSecret brings the value into the Secret, and
// the Deployment that uses it is restarted, nothing else. Then a rotation
// fails in the middle — the store goes away after the push — and the
// previous value keeps working everywhere in the cluster.
func TestRotationLoopThroughVault(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 4*time.Minute)
	keyNS := newNamespace(ctx, t)
	if err := vs.v.Client.Sys().PutPolicy("keyward-rotation", rotationPolicy); err != nil {
		t.Fatal(err)
	}
	token := vs.write(t, "auth/token/create", map[string]any{"policies": []string{"keyward-rotation"}, "ttl": "1h"}).Auth.ClientToken
	store := vs.store("vault", &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-pki-token", Key: "token"}})
	push := &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "db-password"},
		Spec: esv1alpha1.PushSecretSpec{
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "vault", Kind: esv1.SecretStoreKind}},
			Selector:        esv1alpha1.PushSecretSelector{GeneratorRef: genRef("Password", "db")},
			Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: "password",
				RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "aura/production/db", Property: "password"}}}},
		},
	}
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend-secrets"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
			RefreshInterval: esDuration(time.Hour),
			Data: []esv1.ExternalSecretData{{SecretKey: "db-password",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura/production/db", Property: "password"}}},
		},
	}
	e.create(ctx, t, tokenSecret(app, token), store,
		&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "db"}, Spec: genv1alpha1.PasswordSpec{Length: 32}},
		push, es,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "frontend-config"}, StringData: map[string]string{"theme": "dark-unrelated"}})

	kv := vs.v.Client.KVv2("secret")
	vaultValue := func() (string, int) {
		s, err := kv.Get(ctx, "aura/production/db")
		if err != nil {
			return "", 0
		}
		v, _ := s.Data["password"].(string)
		return v, s.VersionMetadata.Version
	}
	var first string
	eventually(ctx, t, "the first generated password in Vault", func(context.Context) (bool, error) {
		first, _ = vaultValue()
		return len(first) == 32, nil
	})
	secretValue := func() string {
		var s corev1.Secret
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: "backend-secrets"}, &s); err != nil {
			return ""
		}
		return string(s.Data["db-password"])
	}
	// The ExternalSecret may have run before the push; bring it level.
	if code, out, stderr := runCLI(t, "keyward", nil, "rotate", "externalsecret", "backend-secrets", "-n", app); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, stderr)
	}
	if secretValue() != first {
		t.Fatal("the Secret does not hold the first generated password")
	}

	backend := deployment(app, "backend", map[string]string{reload.AutoAnnotation: "true"},
		podSpec(envKey("backend-secrets", "db-password"), nil))
	frontend := deployment(app, "frontend", map[string]string{reload.AutoAnnotation: "true"},
		podSpec(nil, envFrom("frontend-config")))
	for _, o := range []client.Object{backend, frontend} {
		if err := cluster.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	startReload(ctx, t, keyNS, []string{app}, manager.ReloadOptions{})
	recorded := waitRecorded(ctx, t, backend, frontend)

	// The rotation: a new password into Vault, into the Secret, into the
	// Deployment that uses it.
	code, out, stderr := runCLI(t, "keyward", nil, "rotate", "pushsecret", "db-password", "-n", app)
	second, version := vaultValue()
	if code != 0 || second == first || len(second) != 32 || version != 2 {
		t.Fatalf("rotate pushsecret: exit %d, Vault version %d, new value %v\n%s%s", code, version, second != first, out, stderr)
	}
	code, out, stderr = runCLI(t, "keyward", nil, "rotate", "externalsecret", "backend-secrets", "-n", app, "--dry-run")
	if code != 0 || !strings.Contains(out, "Deployment/"+app+"/backend (uses keys db-password)") || strings.Contains(out, "frontend") {
		t.Fatalf("--dry-run: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, "keyward", nil, "rotate", "externalsecret", "backend-secrets", "-n", app); code != 0 {
		t.Fatalf("rotate externalsecret: exit %d\n%s%s", code, out, stderr)
	}
	if secretValue() != second {
		t.Fatal("the Secret does not hold the rotated password")
	}
	waitRestarted(ctx, t, recorded, backend)
	settle()
	assertUntouched(ctx, t, recorded, frontend)
	restarted := map[client.Object]reloadState{backend: stateOf(ctx, t, backend), frontend: stateOf(ctx, t, frontend)}

	// A rotation that fails in the middle: the push lands, then the store
	// becomes unreachable before the ExternalSecret reads it.
	if code, out, stderr := runCLI(t, "keyward", nil, "rotate", "pushsecret", "db-password", "-n", app); code != 0 {
		t.Fatalf("third push: exit %d\n%s%s", code, out, stderr)
	}
	third, _ := vaultValue()
	patch := []byte(`{"spec":{"provider":{"vault":{"server":"http://` + proc.FreeAddr(t) + `"}}}}`)
	if err := e.client.Patch(ctx, store, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "keyward", nil, "rotate", "externalsecret", "backend-secrets", "-n", app, "--timeout", "30s")
	if code != 1 || !strings.Contains(stderr, "not Ready") {
		t.Fatalf("rotate with the store down: exit %d, want 1 naming the failure\n%s%s", code, out, stderr)
	}
	if got := secretValue(); got != second {
		t.Fatalf("after a failed rotation the Secret holds %s, want the previous value", map[bool]string{true: "nothing", false: "another value"}[got == ""])
	}
	settle()
	assertUntouched(ctx, t, restarted, backend, frontend)
	noGeneratedLeaks(ctx, t, e, app, first, second, third, token)
}
