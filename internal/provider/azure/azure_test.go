package azure

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/storeruntime"
	azurefake "github.com/keyward/keyward/test/fakes/azure"
	"github.com/keyward/keyward/test/providertest"
)

const (
	tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "8f3a0c7e-1b2d-4e5f-9a6b-7c8d9e0f1a2b"
	vaultURL = "https://aura-prod.vault.azure.net/"
)

type kube struct {
	client.Reader
	mu     sync.Mutex
	tokens []string
}

func (k *kube) ServiceAccountToken(_ context.Context, sa types.NamespacedName, aud []string, exp time.Duration) (string, time.Time, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tok := fmt.Sprintf("k8s-%s-%s-%d", sa.Name, strings.Join(aud, ","), len(k.tokens)+1)
	k.tokens = append(k.tokens, tok)
	return tok, time.Now().Add(exp), nil
}

type env struct {
	fake *azurefake.Server
	p    *Provider
	kube *kube
}

func certPEM(t *testing.T) []byte {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "keyward-sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake, err := azurefake.Start(tenant)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.ClientSecrets[clientID] = "sp-client-secret"
	fake.AssertionClients[clientID] = true
	k := &kube{Reader: fakeclient.NewClientBuilder().WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "sp"}, Data: map[string][]byte{
			"client-id": []byte(clientID), "client-secret": []byte("sp-client-secret"), "wrong-secret": []byte("not-the-secret"),
			"cert": certPEM(t), "not-cert": []byte("-----BEGIN hunter2"), "tenant": []byte(tenant)}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "eso", Annotations: map[string]string{
			clientIDAnnotation: clientID, tenantIDAnnotation: tenant}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "plain"}},
	).Build()}
	return &env{fake: fake, kube: k, p: &Provider{Transport: fake.Transport()}}
}

func sel(key string) *esv1.SecretKeySelector { return &esv1.SecretKeySelector{Name: "sp", Key: key} }
func str(s string) *string                   { return &s }

func azStore(a *esv1.AzureKVProvider) *esv1.SecretStore {
	if a.VaultURL == nil {
		a.VaultURL = str(vaultURL)
	}
	interval := "5ms"
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "azure", UID: "uid", Generation: 1},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AzureKV: a},
			RetrySettings: &esv1.SecretStoreRetrySettings{RetryInterval: &interval}},
	}
}

func spSecret() *esv1.AzureKVProvider {
	return &esv1.AzureKVProvider{TenantID: str(tenant), AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("client-id"), ClientSecret: sel("client-secret")}}
}

func (e *env) client(t *testing.T, a *esv1.AzureKVProvider) *Client {
	t.Helper()
	c, err := e.p.NewClient(context.Background(), azStore(a), e.kube, "app")
	if err != nil {
		t.Fatal(err)
	}
	return c.(*Client)
}

func TestRead(t *testing.T) {
	e := newEnv(t)
	first := e.fake.Put("aura-production-postgres", `{"db-uri":"postgresql://one"}`, nil)
	e.fake.Put("aura-production-postgres", `{"db-uri":"postgresql://two"}`, map[string]string{"team": "payments"})
	e.fake.Put("plain", "text", nil)
	c := e.client(t, spSecret())
	ctx := context.Background()
	for _, tc := range []struct {
		name, key, version, prop, want string
		notFound, wantErr              bool
	}{
		{name: "current property", key: "aura-production-postgres", prop: "db-uri", want: "postgresql://two"},
		{name: "version", key: "aura-production-postgres", version: first, prop: "db-uri", want: "postgresql://one"},
		{name: "secret/ prefix", key: "secret/plain", want: "text"},
		{name: "missing", key: "nope", notFound: true},
		{name: "missing version", key: "plain", version: "00000000000000000000000000000099", notFound: true},
		{name: "not JSON", key: "plain", prop: "x", wantErr: true},
		{name: "keys are not served", key: "key/signing", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.Read(ctx, t, c, tc.key, tc.version, tc.prop, providertest.Expect{Value: tc.want, NotFound: tc.notFound, Err: tc.wantErr})
		})
	}
	md, err := c.ReadMetadata(ctx, "aura-production-postgres")
	if v, _ := md.Property("team"); err != nil || string(v) != "payments" {
		t.Fatalf("metadata %s %v", md.Value, err)
	}
	if n := e.fake.Count("Token"); n != 1 {
		t.Fatalf("token requests = %d, want 1 (the token is cached)", n)
	}
}

func TestFindPaginates(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, spSecret())
	providertest.FindPaged(context.Background(), t, c, func(name, value string, tags map[string]string) {
		e.fake.Put(name, value, tags)
	}, func() {
		// Each list page is challenged once at most, then 3 pages of 25.
		if n := e.fake.Count("ListSecrets"); n < 3 {
			t.Fatalf("ListSecrets calls = %d, want 3 pages", n)
		}
	})
}

func TestAuthModes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		spec    *esv1.AzureKVProvider
		setup   func(t *testing.T, e *env)
		check   func(t *testing.T, e *env)
		wantErr string // from NewClient
		denied  bool   // Validate and reads fail
	}{
		{name: "service principal with a client secret", spec: spSecret()},
		{name: "service principal with a certificate", spec: &esv1.AzureKVProvider{AuthSecretRef: &esv1.AzureKVAuth{
			ClientID: sel("client-id"), TenantID: sel("tenant"), ClientCertificate: sel("cert")}},
			check: func(t *testing.T, e *env) {
				if a := e.fake.Assertions(); len(a) == 0 || strings.Count(a[0], ".") != 2 {
					t.Fatalf("assertions %v", a)
				}
			}},
		{name: "workload identity", spec: &esv1.AzureKVProvider{AuthType: str("WorkloadIdentity"), ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "eso"}},
			check: func(t *testing.T, e *env) {
				if a := e.fake.Assertions(); len(a) == 0 || a[0] != "k8s-eso-api://AzureADTokenExchange-1" {
					t.Fatalf("federated assertions %v", a)
				}
			}},
		{name: "managed identity (App Service endpoint)", spec: &esv1.AzureKVProvider{AuthType: str("ManagedIdentity"), IdentityID: str(clientID)},
			setup: func(t *testing.T, e *env) {
				e.fake.MSIHeader = "msi-header"
				t.Setenv("IDENTITY_ENDPOINT", "https://127.0.0.1/msi/token")
				t.Setenv("IDENTITY_HEADER", "msi-header")
			}},
		{name: "bad client secret", spec: &esv1.AzureKVProvider{TenantID: str(tenant), AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("client-id"), ClientSecret: sel("wrong-secret")}}, denied: true},
		{name: "not a certificate", spec: &esv1.AzureKVProvider{TenantID: str(tenant), AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("client-id"), ClientCertificate: sel("not-cert")}},
			wantErr: "not a PEM certificate"},
		{name: "workload identity without annotations", spec: &esv1.AzureKVProvider{AuthType: str("WorkloadIdentity"), ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "plain"}},
			wantErr: "azure.workload.identity/client-id"},
		{name: "no tenant", spec: &esv1.AzureKVProvider{AuthSecretRef: &esv1.AzureKVAuth{ClientID: sel("client-id"), ClientSecret: sel("client-secret")}}, wantErr: "tenantId: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Put("db", "v", nil)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			c, err := e.p.NewClient(ctx, azStore(tc.spec), e.kube, "app")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate(ctx)
			if tc.denied {
				if err == nil {
					t.Fatal("Validate passed with bad credentials")
				}
				_, rerr := c.Read(ctx, "db", "")
				for _, e := range []error{err, rerr} {
					if e == nil || strings.Contains(e.Error(), "not-the-secret") {
						t.Fatalf("err = %v", e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v, err := c.Read(ctx, "db", ""); err != nil || string(v.Value) != "v" {
				t.Fatalf("read: %q %v", v.Value, err)
			}
			tokens := e.fake.Count("Token")
			for range 3 {
				if v, err := c.Read(ctx, "db", ""); err != nil || string(v.Value) != "v" {
					t.Fatalf("read: %q %v", v.Value, err)
				}
			}
			if err := c.Validate(ctx); err != nil {
				t.Fatal(err)
			}
			if n := e.fake.Count("Token"); n != tokens || n > 2 {
				t.Fatalf("token requests = %d after more reads, was %d: tokens are not cached", n, tokens)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestThrottlingAndDenial(t *testing.T) {
	e := newEnv(t)
	e.fake.Put("db", `{"password":"hunter2"}`, nil)
	reg := prometheus.NewRegistry()
	m := storeruntime.NewManager(e.kube, storeruntime.NewMetrics(reg), storeruntime.Options{}, e.p)
	ctx := context.Background()
	s, err := m.Store(ctx, azStore(spSecret()), "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(ctx, "db", "", 0); err != nil { // past the challenge
		t.Fatal(err)
	}
	before := e.fake.Count("GetSecret")
	e.fake.Fail("GetSecret", 2, 429, "Throttled", "Operations per second rate limit reached")
	if _, _, err := s.Read(ctx, "db", "", 0); err != nil {
		t.Fatalf("read after throttling: %v", err)
	}
	if n := e.fake.Count("GetSecret") - before; n != 3 {
		t.Fatalf("attempts = %d, want 3", n)
	}
	if got := providertest.Counter(t, reg, "keyward_provider_store_throttled_total", map[string]string{"call": "Read"}); got != 2 {
		t.Fatalf("throttles counted = %v", got)
	}
	e.fake.Fail("GetSecret", 1, 403, "Forbidden", "The user, group or application 'appid=8f3a' does not have secrets get permission on key vault 'aura-prod'.")
	_, _, err = s.Read(ctx, "db", "", 0)
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden") || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "SecretStore/app/azure") {
		t.Fatalf("err = %v", err)
	}
}

func TestPush(t *testing.T) {
	e := newEnv(t)
	e.fake.Put("foreign", "x", map[string]string{"owner": "ops"})
	c := e.client(t, spSecret())
	ctx := context.Background()
	providertest.Push(ctx, t, c, "foreign", func() int { return e.fake.Count("SetSecret") })
}

func TestSharedKeysCostOneReadEach(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		e.fake.Put(fmt.Sprintf("shared-%d", i), "v", nil)
	}
	m := storeruntime.NewManager(e.kube, nil, storeruntime.Options{}, e.p)
	ctx := context.Background()
	s, err := m.Store(ctx, azStore(spSecret()), "app")
	if err != nil {
		t.Fatal(err)
	}
	providertest.AtOnce(t, 100, func(i int) error {
		_, _, err := s.Read(ctx, fmt.Sprintf("shared-%d", i%10), "", time.Hour)
		return err
	})
	// One GET per key, plus at most one unauthenticated GET per concurrent
	// first request answered by the challenge.
	t.Logf("GetSecret calls: %d, token requests: %d", e.fake.Count("GetSecret"), e.fake.Count("Token"))
	if n := e.fake.Count("GetSecret"); n > 20 {
		t.Fatalf("GetSecret calls = %d for 100 reads of 10 keys", n)
	}
}
