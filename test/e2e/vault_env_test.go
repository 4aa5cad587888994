package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	testvault "github.com/keyward/keyward/test/vault"
)

// vaultPolicy is what the stores in these tests may do: read and push KV
// v2 secrets under secret/.
const vaultPolicy = `
path "secret/data/*"     { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["create", "read", "update", "list", "delete"] }
`

// vaultSetup is a real Vault wired to the test cluster: the keyward
// policy, and the auth methods (AppRole, userpass, Kubernetes, JWT) bound
// to ServiceAccount sa of namespace ns. Everything is in Vault's memory, so
// apply runs again after a restart.
type vaultSetup struct {
	v                  *testvault.Server
	ns, sa             string
	roleID, secretID   string
	password           string
	reviewer           string // a token allowed to call TokenReview, for Vault
	issuer, signingKey string // the cluster's ServiceAccount token issuer and public key (PEM)
	token              string // a Vault token with the keyward policy (made by apply)
}

// vaultTest starts what each Vault test needs: a deadline that ends with
// the test, the controller, a fresh namespace and a Vault bound to its
// keyward-vault ServiceAccount.
func vaultTest(t *testing.T, timeout time.Duration) (context.Context, *esEnv, string, *vaultSetup) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	return ctx, e, app, newVaultSetup(ctx, t, app, "keyward-vault")
}

func newVaultSetup(ctx context.Context, t *testing.T, ns, sa string) *vaultSetup {
	t.Helper()
	s := &vaultSetup{v: testvault.Start(t, testvault.Options{}), ns: ns, sa: sa,
		roleID: "role-" + rand.String(8), secretID: "PLANTED-SECRET-ID-" + rand.String(12), password: "PLANTED-PASSWORD-" + rand.String(12)}
	if _, err := cluster.Clientset.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	s.reviewer = tokenReviewer(ctx, t, ns)
	s.issuer, s.signingKey = clusterIssuer(ctx, t)
	s.apply(t)
	return s
}

// apply configures Vault; call it again after a restart.
func (s *vaultSetup) apply(t *testing.T) {
	t.Helper()
	v := s.v
	if err := v.Client.Sys().PutPolicy("keyward", vaultPolicy); err != nil {
		t.Fatal(err)
	}
	for path, typ := range map[string]string{"approle": "approle", "userpass": "userpass", "kubernetes": "kubernetes", "jwt": "jwt"} {
		s.write(t, "sys/auth/"+path, map[string]any{"type": typ})
	}
	s.write(t, "auth/approle/role/keyward", map[string]any{"token_policies": "keyward", "token_ttl": "1h"})
	s.write(t, "auth/approle/role/keyward/role-id", map[string]any{"role_id": s.roleID})
	s.write(t, "auth/approle/role/keyward/custom-secret-id", map[string]any{"secret_id": s.secretID})
	s.write(t, "auth/userpass/users/keyward", map[string]any{"password": s.password, "token_policies": "keyward"})
	// Vault calls TokenReview on the real API server for every Kubernetes login.
	host := cluster.Config.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	s.write(t, "auth/kubernetes/config", map[string]any{"kubernetes_host": host, "kubernetes_ca_cert": string(cluster.Config.CAData),
		"token_reviewer_jwt": s.reviewer, "disable_local_ca_jwt": true})
	s.write(t, "auth/kubernetes/role/keyward", map[string]any{"bound_service_account_names": []string{s.sa},
		"bound_service_account_namespaces": []string{s.ns}, "token_policies": "keyward", "token_ttl": "1h"})
	// JWT: the cluster's ServiceAccount tokens, checked with its signing key.
	s.write(t, "auth/jwt/config", map[string]any{"jwt_validation_pubkeys": []string{s.signingKey}, "bound_issuer": s.issuer})
	s.write(t, "auth/jwt/role/keyward", map[string]any{"role_type": "jwt", "bound_audiences": []string{"vault"}, "user_claim": "sub",
		"bound_subject": "system:serviceaccount:" + s.ns + ":" + s.sa, "token_policies": "keyward", "token_ttl": "1h"})
	tok := s.write(t, "auth/token/create", map[string]any{"policies": []string{"keyward"}, "ttl": "1h"})
	s.token = tok.Auth.ClientToken
}

func (s *vaultSetup) write(t *testing.T, path string, body map[string]any) *api.Secret {
	t.Helper()
	sec, err := s.v.Client.Logical().Write(path, body)
	if err != nil {
		t.Fatalf("vault: writing %s: %v", path, err)
	}
	return sec
}

// put writes a new version of a KV v2 secret under secret/.
func (s *vaultSetup) put(t *testing.T, key string, data map[string]any) {
	t.Helper()
	s.write(t, "secret/data/"+key, map[string]any{"data": data})
}

// credentials creates the Secrets the stores read their credentials from.
func (s *vaultSetup) credentials(ctx context.Context, t *testing.T, e *esEnv) {
	t.Helper()
	e.create(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "vault-creds"}, StringData: map[string]string{
		"token": s.token, "secret-id": s.secretID, "password": s.password,
	}})
}

// auths are the store auth blocks, by method, for the credentials above.
func (s *vaultSetup) auths() map[string]*esv1.VaultAuth {
	creds := func(key string) esv1.SecretKeySelector { return esv1.SecretKeySelector{Name: "vault-creds", Key: key} }
	tok := creds("token")
	return map[string]*esv1.VaultAuth{
		"token":      {TokenSecretRef: &tok},
		"approle":    {AppRole: &esv1.VaultAppRole{RoleID: s.roleID, SecretRef: creds("secret-id")}},
		"userpass":   {UserPass: &esv1.VaultUserPassAuth{Username: "keyward", SecretRef: creds("password")}},
		"kubernetes": {Kubernetes: &esv1.VaultKubernetesAuth{Role: "keyward", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: s.sa}}},
		"jwt": {Jwt: &esv1.VaultJwtAuth{Role: "keyward", KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{
			ServiceAccountRef: esv1.ServiceAccountSelector{Name: s.sa}}}},
	}
}

// store is a SecretStore named name on Vault's secret/ mount.
func (s *vaultSetup) store(name string, auth *esv1.VaultAuth) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
			Server: s.v.Addr, Path: ptrTo("secret"), Version: "v2", Auth: auth,
		}}},
	}
}

// requests counts the Vault requests logged since mark, by "operation path".
func (s *vaultSetup) requests(t *testing.T, mark int64) map[string]int {
	t.Helper()
	reqs, err := s.v.Requests(mark)
	if err != nil {
		t.Fatal(err)
	}
	return testvault.Count(reqs)
}

// logins counts the logins among counted requests.
func logins(counts map[string]int) int {
	n := 0
	for k, c := range counts {
		if strings.HasPrefix(k, "update auth/") && strings.Contains(k, "/login") {
			n += c
		}
	}
	return n
}

// tokenReviewer returns a ServiceAccount token allowed to call TokenReview,
// which Vault's Kubernetes auth method uses to check the tokens it is shown.
func tokenReviewer(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token-reviewer"}}
	if _, err := cluster.Clientset.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-token-reviewer-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: sa.Name}},
	}
	if _, err := cluster.Clientset.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Clientset.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
	secs := int64(3600)
	tr, err := cluster.Clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// clusterIssuer returns the API server's ServiceAccount token issuer and
// its signing key as PEM, from its OIDC discovery documents.
func clusterIssuer(ctx context.Context, t *testing.T) (string, string) {
	t.Helper()
	rc := cluster.Clientset.CoreV1().RESTClient()
	disc, err := rc.Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	if err != nil {
		t.Fatalf("reading the cluster's OIDC discovery document: %v", err)
	}
	var d struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(disc, &d); err != nil {
		t.Fatal(err)
	}
	raw, err := rc.Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	if err != nil {
		t.Fatalf("reading the cluster's JWKS: %v", err)
	}
	var jwks struct {
		Keys []struct{ Kty, Crv, N, E, X, Y string } `json:"keys"`
	}
	if err := json.Unmarshal(raw, &jwks); err != nil {
		t.Fatal(err)
	}
	num := func(s string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal("the cluster's JWKS does not decode")
		}
		return new(big.Int).SetBytes(b)
	}
	for _, k := range jwks.Keys {
		var pub any
		switch {
		case k.Kty == "RSA":
			pub = &rsa.PublicKey{N: num(k.N), E: int(num(k.E).Int64())}
		case k.Kty == "EC" && k.Crv == "P-256":
			pub = &ecdsa.PublicKey{Curve: elliptic.P256(), X: num(k.X), Y: num(k.Y)}
		default:
			continue
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return d.Issuer, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	t.Fatalf("the cluster's JWKS has no RSA or P-256 key: %s", raw)
	return "", ""
}

func ptrTo[T any](v T) *T { return &v }
