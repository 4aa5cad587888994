package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
)

// generatorPolicy lets a token issue certificates from pki/issue/web and
// push to the KV v2 mount secret/.
const generatorPolicy = `
path "pki/issue/web"     { capabilities = ["create", "update"] }
path "secret/data/*"     { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["create", "read", "update", "list", "delete"] }
`

// pkiToken enables Vault's PKI engine with a root CA and a role "web" for
// *.example.test, and returns a token allowed to issue from it.
func (s *vaultSetup) pkiToken(t *testing.T) string {
	t.Helper()
	s.write(t, "sys/mounts/pki", map[string]any{"type": "pki", "config": map[string]any{"max_lease_ttl": "24h"}})
	s.write(t, "pki/root/generate/internal", map[string]any{"common_name": "Keyward Test Root", "ttl": "24h"})
	s.write(t, "pki/roles/web", map[string]any{"allowed_domains": "example.test", "allow_subdomains": true, "max_ttl": "1h"})
	if err := s.v.Client.Sys().PutPolicy("keyward-generators", generatorPolicy); err != nil {
		t.Fatal(err)
	}
	tok := s.write(t, "auth/token/create", map[string]any{"policies": []string{"keyward-generators"}, "ttl": "1h"})
	return tok.Auth.ClientToken
}

// vaultGenerator is a VaultDynamicSecret issuing a certificate for cn with
// the token in Secret tokenNS/vault-pki-token (tokenNS "" = its own namespace).
func (s *vaultSetup) vaultGenerator(ns, name, cn, tokenNS string) *genv1alpha1.VaultDynamicSecret {
	sel := esv1.SecretKeySelector{Name: "vault-pki-token", Key: "token"}
	if tokenNS != "" {
		sel.Namespace = &tokenNS
	}
	return &genv1alpha1.VaultDynamicSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: genv1alpha1.VaultDynamicSecretSpec{
			Path: "pki/issue/web", Method: "POST",
			Parameters: &apiextensionsv1.JSON{Raw: []byte(`{"common_name":"` + cn + `","ttl":"10m"}`)},
			Provider:   &esv1.VaultProvider{Server: s.v.Addr, Auth: &esv1.VaultAuth{TokenSecretRef: &sel}},
		},
	}
}

func tokenSecret(ns, token string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-pki-token"}, StringData: map[string]string{"token": token}}
}

// TestGeneratorVaultPKI: a VaultDynamicSecret on the real Vault's PKI
// engine (POST pki/issue/web) puts a new certificate and its key in the
// Secret, and a new one on each refresh; the private key shows nowhere else.
func TestGeneratorVaultPKI(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 3*time.Minute)
	token := vs.pkiToken(t)
	e.create(ctx, t, tokenSecret(app, token), vs.vaultGenerator(app, "web-cert", "app.example.test", ""),
		generatedES(app, "web-tls", 3*time.Second, genRef("VaultDynamicSecret", "web-cert")))

	s := e.waitSecret(ctx, t, app, "web-tls", func(s *corev1.Secret) bool { return len(s.Data["certificate"]) > 0 })
	for _, k := range []string{"certificate", "private_key", "issuing_ca", "serial_number", "ca_chain", "expiration"} {
		if len(s.Data[k]) == 0 {
			t.Errorf("Secret has no %s", k)
		}
	}
	cert := parseCert(t, s.Data["certificate"])
	if cert.Subject.CommonName != "app.example.test" {
		t.Errorf("certificate CN %q, want app.example.test", cert.Subject.CommonName)
	}
	if !strings.HasPrefix(string(s.Data["ca_chain"]), `["-----BEGIN CERTIFICATE-----`) {
		t.Error("ca_chain is not the JSON array Vault answers")
	}
	firstKey, firstSerial := string(s.Data["private_key"]), string(s.Data["serial_number"])
	s = e.waitSecret(ctx, t, app, "web-tls", func(s *corev1.Secret) bool { return string(s.Data["serial_number"]) != firstSerial })
	if string(s.Data["private_key"]) == firstKey {
		t.Error("the refresh issued a new certificate with the old key")
	}
	e.waitReady(ctx, t, app, "web-tls", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	noGeneratedLeaks(ctx, t, e, app, firstKey, string(s.Data["private_key"]), token)
}

func parseCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("certificate is not PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGeneratorVaultTenancy: a VaultDynamicSecret in namespace A may not
// log in with a Secret of namespace B, nor with the controller's own
// ServiceAccount (Kubernetes auth naming no credentials): both are refused
// before Vault is called, with the field named. A ClusterGenerator, made by
// the cluster's administrator, reads credentials in the namespace using it.
func TestGeneratorVaultTenancy(t *testing.T) {
	ctx, e, a, vs := vaultTest(t, 3*time.Minute)
	token := vs.pkiToken(t)
	b := newNamespace(ctx, t)
	e.create(ctx, t, tokenSecret(b, token), vs.vaultGenerator(a, "borrowed", "a.example.test", b),
		generatedES(a, "borrowed", time.Hour, genRef("VaultDynamicSecret", "borrowed")))
	ambient := vs.vaultGenerator(a, "ambient", "a.example.test", "")
	ambient.Spec.Provider.Auth = &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "keyward"}}
	e.create(ctx, t, ambient, generatedES(a, "ambient", time.Hour, genRef("VaultDynamicSecret", "ambient")))

	es := e.waitReady(ctx, t, a, "borrowed", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	if msg := readyCondition(es).Message; !strings.Contains(msg, "VaultDynamicSecret "+a+"/borrowed: spec.provider") ||
		!strings.Contains(msg, "may only use its own namespace") {
		t.Errorf("borrowed: message %q does not say the Secret of another namespace is refused", msg)
	}
	es = e.waitReady(ctx, t, a, "ambient", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	if msg := readyCondition(es).Message; !strings.Contains(msg, "auth.kubernetes") || !strings.Contains(msg, "controller's identity") {
		t.Errorf("ambient: message %q does not say the controller's identity is refused", msg)
	}
	for _, name := range []string{"borrowed", "ambient"} {
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: a, Name: name}, &corev1.Secret{}); err == nil {
			t.Errorf("Secret %s was written", name)
		}
	}

	// The same spec as a ClusterGenerator, used from B where the token is.
	cg := &genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "cert-" + b},
		Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "VaultDynamicSecret", Generator: genv1alpha1.GeneratorSpec{
			VaultDynamicSecretSpec: &vs.vaultGenerator(b, "x", "b.example.test", "").Spec}}}
	e.create(ctx, t, cg, generatedES(b, "from-cluster", time.Hour, genRef("ClusterGenerator", cg.Name)))
	t.Cleanup(func() { _ = e.client.Delete(context.Background(), cg) })
	s := e.waitSecret(ctx, t, b, "from-cluster", func(s *corev1.Secret) bool { return len(s.Data["certificate"]) > 0 })
	if cn := parseCert(t, s.Data["certificate"]).Subject.CommonName; cn != "b.example.test" {
		t.Errorf("CN %q", cn)
	}
	noGeneratedLeaks(ctx, t, e, a, token)
	noGeneratedLeaks(ctx, t, e, b, token, string(s.Data["private_key"]))
}

// TestGeneratorPushSecretToVault: a PushSecret whose source is a Password
// generator writes a new password into Vault KV on each push (read back
// from Vault), and an ExternalSecret reading that key gets it.
func TestGeneratorPushSecretToVault(t *testing.T) {
	ctx, e, app, vs := vaultTest(t, 3*time.Minute)
	token := vs.pkiToken(t)
	store := vs.store("vault", &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-pki-token", Key: "token"}})
	ps := &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "rotate-db"},
		Spec: esv1alpha1.PushSecretSpec{
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "vault", Kind: esv1.SecretStoreKind}},
			Selector:        esv1alpha1.PushSecretSelector{GeneratorRef: genRef("Password", "db")},
			Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: "password",
				RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "app/db", Property: "password"}}}},
		},
	}
	e.create(ctx, t, tokenSecret(app, token), store,
		&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "db"}, Spec: genv1alpha1.PasswordSpec{Length: 28}}, ps)

	kv := vs.v.Client.KVv2("secret")
	var first string
	eventually(ctx, t, "the generated password in Vault", func(ctx context.Context) (bool, error) {
		s, err := kv.Get(ctx, "app/db")
		if err != nil {
			return false, nil
		}
		first, _ = s.Data["password"].(string)
		return len(first) == 28, nil
	})

	// A push (here forced by an annotation) makes and writes a new value.
	patch := `{"metadata":{"annotations":{"force-sync":"` + time.Now().Format(time.RFC3339Nano) + `"}}}`
	if err := e.client.Patch(ctx, ps, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	var second string
	eventually(ctx, t, "a second generated password in Vault", func(ctx context.Context) (bool, error) {
		s, err := kv.Get(ctx, "app/db")
		if err != nil {
			return false, nil
		}
		second, _ = s.Data["password"].(string)
		return second != first && len(second) == 28 && s.VersionMetadata.Version == 2, nil
	})

	e.create(ctx, t, &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "db"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
			Data: []esv1.ExternalSecretData{{SecretKey: "password",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "app/db", Property: "password"}}},
		},
	})
	e.waitSecret(ctx, t, app, "db", func(s *corev1.Secret) bool { return string(s.Data["password"]) == second })
	noGeneratedLeaks(ctx, t, e, app, first, second, token)
}
