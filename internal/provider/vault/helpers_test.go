package vault

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	testvault "github.com/keyward/keyward/test/vault"
)

const testNS = "app"

// fakeKube serves Secrets from memory and mints ServiceAccount tokens with mint.
type fakeKube struct {
	client.Reader
	mint func(sa types.NamespacedName, audiences []string) string

	mu       sync.Mutex
	requests []types.NamespacedName
}

func (k *fakeKube) ServiceAccountToken(_ context.Context, sa types.NamespacedName, audiences []string, expiry time.Duration) (string, time.Time, error) {
	k.mu.Lock()
	k.requests = append(k.requests, sa)
	k.mu.Unlock()
	return k.mint(sa, audiences), time.Now().Add(expiry), nil
}

func newKube(t *testing.T, secrets map[string]map[string]string) *fakeKube {
	t.Helper()
	var objs []client.Object
	for name, data := range secrets {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		objs = append(objs, s)
	}
	return &fakeKube{Reader: fakeclient.NewClientBuilder().WithObjects(objs...).Build()}
}

func store(spec *esv1.VaultProvider) *esv1.SecretStore {
	return &esv1.SecretStore{
		TypeMeta:   metav1.TypeMeta{Kind: esv1.SecretStoreKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "vault", UID: "u1", Generation: 1},
		Spec:       esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: spec}},
	}
}

func ref(name, key string) esv1.SecretKeySelector {
	return esv1.SecretKeySelector{Name: name, Key: key}
}

func str(s string) *string { return &s }

// vaultCall runs a root request that must succeed.
func vaultCall(t *testing.T, v *testvault.Server, path string, body map[string]any) *api.Secret {
	t.Helper()
	sec, err := v.Client.Logical().Write(path, body)
	if err != nil {
		t.Fatalf("vault write %s: %v", path, err)
	}
	return sec
}

func kvPut(t *testing.T, v *testvault.Server, path string, data map[string]any) {
	t.Helper()
	vaultCall(t, v, path, map[string]any{"data": data})
}

// counts returns the requests Vault logged since mark, by "operation path".
func counts(t *testing.T, v *testvault.Server, mark int64) map[string]int {
	t.Helper()
	reqs, err := v.Requests(mark)
	if err != nil {
		t.Fatal(err)
	}
	return testvault.Count(reqs)
}

// jwtSigner signs RS256 JWTs that Vault's jwt auth method checks against
// its public key.
type jwtSigner struct {
	key *rsa.PrivateKey
}

func newJWTSigner(t *testing.T) *jwtSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &jwtSigner{key: key}
}

func (s *jwtSigner) publicPEM(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (s *jwtSigner) sign(t *testing.T, subject string, audiences []string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT"})
	body := enc(map[string]any{"iss": "keyward-test", "sub": subject, "aud": audiences,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	sum := sha256.Sum256([]byte(head + "." + body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// leaks fails the test when text holds any of the planted strings.
func leaks(t *testing.T, what, text string, planted ...string) {
	t.Helper()
	for _, p := range planted {
		if p != "" && strings.Contains(text, p) {
			t.Errorf("%s reveals a planted secret: %q", what, text)
		}
	}
}
