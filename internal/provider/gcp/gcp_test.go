package gcp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/storeruntime"
	gcpfake "github.com/keyward/keyward/test/fakes/gcp"
	"github.com/keyward/keyward/test/providertest"
)

const project = "aura-prod"

type kube struct {
	client.Reader
	mu     sync.Mutex
	tokens int
}

func (k *kube) ServiceAccountToken(_ context.Context, sa types.NamespacedName, aud []string, exp time.Duration) (string, time.Time, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tokens++
	return fmt.Sprintf("k8s-token-%s-%s-%d", sa.Name, strings.Join(aud, ","), k.tokens), time.Now().Add(exp), nil
}

// env is a TLS fake, its OAuth stand-ins and a provider pointed at them.
type env struct {
	fake *gcpfake.Server
	auth *gcpfake.Auth
	p    *Provider
	kube *kube
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cert, pool, err := gcpfake.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := gcpfake.Start(&cert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Stop)
	auth := gcpfake.StartAuth()
	t.Cleanup(auth.Close)
	key := saKey(t, auth.URL+"/token")
	k := &kube{Reader: fakeclient.NewClientBuilder().WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "gcp-key"}, Data: map[string][]byte{"key.json": key}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "not-a-key"}, Data: map[string][]byte{"key.json": []byte(`{"private_key":"-----BEGIN hunter2"}`)}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "eso",
			Annotations: map[string]string{gsaAnnotation: "reader@aura-prod.iam.gserviceaccount.com"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "direct"}},
	).Build()}
	return &env{fake: fake, auth: auth, kube: k, p: &Provider{
		Getenv: func(string) string { return "" }, STSURL: auth.URL + "/v1/token", IAMCredentialsURL: auth.URL,
		ClientOptions: []option.ClientOption{option.WithEndpoint(fake.Addr),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))},
	}}
}

func saKey(t *testing.T, tokenURI string) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "kid1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "reader@aura-prod.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURI,
	})
	return b
}

func gcpStore(g *esv1.GCPSMProvider) *esv1.SecretStore {
	interval := "5ms"
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "gcp", UID: "uid", Generation: 1},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{GCPSM: g},
			RetrySettings: &esv1.SecretStoreRetrySettings{RetryInterval: &interval}},
	}
}

var keyAuth = esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: esv1.SecretKeySelector{Name: "gcp-key", Key: "key.json"}}}

func (e *env) client(t *testing.T, g *esv1.GCPSMProvider) *Client {
	t.Helper()
	c, err := e.p.NewClient(context.Background(), gcpStore(g), e.kube, "app")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.(*Client)
}

func TestRead(t *testing.T) {
	e := newEnv(t)
	e.fake.RequireToken(e.auth.Token)
	e.fake.Put(project, "aura-production-postgres", []byte(`{"db-uri":"postgresql://one"}`), nil)
	e.fake.Put(project, "aura-production-postgres", []byte(`{"db-uri":"postgresql://two"}`), map[string]string{"team": "payments"})
	e.fake.Put(project, "plain", []byte("text"), nil)
	e.fake.Put(project, "rotating", []byte("good"), nil)
	e.fake.Put(project, "rotating", []byte("bad"), nil)
	e.fake.Disable(project, "rotating", 2)
	c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth}) // project from the key
	fetch := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth, ProjectID: project, SecretVersionSelectionPolicy: "LatestOrFetch"})
	ctx := context.Background()
	for _, tc := range []struct {
		name               string
		c                  *Client
		key, version, prop string
		want               string
		notFound, wantErr  bool
	}{
		{name: "latest property", c: c, key: "aura-production-postgres", prop: "db-uri", want: "postgresql://two"},
		{name: "version 1", c: c, key: "aura-production-postgres", version: "1", prop: "db-uri", want: "postgresql://one"},
		{name: "full resource name", c: c, key: "projects/aura-prod/secrets/plain", want: "text"},
		{name: "missing", c: c, key: "nope", notFound: true},
		{name: "missing version", c: c, key: "plain", version: "7", notFound: true},
		{name: "not JSON", c: c, key: "plain", prop: "x", wantErr: true},
		{name: "disabled latest fails", c: c, key: "rotating", wantErr: true},
		{name: "disabled latest with LatestOrFetch", c: fetch, key: "rotating", want: "good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.Read(ctx, t, tc.c, tc.key, tc.version, tc.prop, providertest.Expect{Value: tc.want, NotFound: tc.notFound, Err: tc.wantErr})
		})
	}
	md, err := c.ReadMetadata(ctx, "aura-production-postgres")
	if v, _ := md.Property("labels.team"); err != nil || string(v) != "payments" {
		t.Fatalf("metadata %s %v", md.Value, err)
	}
	if n := e.auth.Count("token"); n != 2 {
		t.Fatalf("OAuth token grants = %d, want one per client", n)
	}
}

func TestFindPaginates(t *testing.T) {
	e := newEnv(t)
	e.fake.Put("other-project", "app-x", []byte("x"), nil)
	c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth, ProjectID: project})
	ctx := context.Background()
	providertest.FindPaged(ctx, t, c, func(name, value string, tags map[string]string) {
		e.fake.Put(project, name, []byte(value), tags)
	}, func() {
		if n := e.fake.Count("ListSecrets"); n != 3 {
			t.Fatalf("ListSecrets calls = %d, want 3 pages of 25", n)
		}
	})
	if _, err := c.Find(ctx, esv1.ExternalSecretFind{Path: ptr("a/b")}); err == nil {
		t.Fatal("a path was accepted")
	}
}

func ptr[T any](v T) *T { return &v }

func TestAuthModes(t *testing.T) {
	ctx := context.Background()
	wi := func(sa string) esv1.GCPSMAuth {
		return esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{ServiceAccountRef: esv1.ServiceAccountSelector{Name: sa},
			ClusterLocation: "europe-west1", ClusterName: "prod", ClusterProjectID: "aura-cluster"}}
	}
	for _, tc := range []struct {
		name    string
		auth    esv1.GCPSMAuth
		token   func(e *env) string
		counts  map[string]int
		wantErr string
	}{
		{name: "service-account key", auth: keyAuth, token: func(e *env) string { return e.auth.Token }, counts: map[string]int{"token": 1}},
		{name: "workload identity impersonating a Google service account", auth: wi("eso"),
			token: func(e *env) string { return e.auth.Impersonated }, counts: map[string]int{"sts": 1, "generateAccessToken": 1}},
		{name: "workload identity, direct federated access", auth: wi("direct"),
			token: func(e *env) string { return e.auth.Federated }, counts: map[string]int{"sts": 1}},
		{name: "not a key", auth: esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{SecretAccessKey: esv1.SecretKeySelector{Name: "not-a-key", Key: "key.json"}}},
			wantErr: "is not a service-account key JSON"},
		{name: "workload identity without cluster", auth: esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{ServiceAccountRef: esv1.ServiceAccountSelector{Name: "eso"}}},
			wantErr: "clusterLocation, clusterName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Put(project, "db", []byte("v"), nil)
			c, err := e.p.NewClient(ctx, gcpStore(&esv1.GCPSMProvider{Auth: tc.auth, ProjectID: project}), e.kube, "app")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			e.fake.RequireToken(tc.token(e))
			if err := c.Validate(ctx); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := c.Read(ctx, "db", ""); err != nil {
					t.Fatal(err)
				}
			}
			for _, ep := range []string{"token", "sts", "generateAccessToken"} {
				if got := e.auth.Count(ep); got != tc.counts[ep] {
					t.Fatalf("%s calls = %d, want %d (tokens are cached)", ep, got, tc.counts[ep])
				}
			}
			if tc.counts["sts"] > 0 && !strings.HasPrefix(e.auth.Subjects()[0], "k8s-token-") {
				t.Fatalf("STS got subject %q", e.auth.Subjects()[0])
			}
		})
	}
	t.Run("bad credentials", func(t *testing.T) {
		e := newEnv(t)
		e.fake.Put(project, "db", []byte("v"), nil)
		e.fake.RequireToken(e.auth.Token)
		e.auth.Reject(true)
		c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth})
		if err := c.Validate(ctx); err == nil {
			t.Fatal("Validate passed with rejected credentials")
		}
		_, err := c.Read(ctx, "db", "")
		if err == nil || errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		e := newEnv(t)
		e.fake.Put(project, "db", []byte("v"), nil)
		e.fake.RequireToken("something-else")
		c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth})
		if _, err := c.Read(ctx, "db", ""); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestThrottlingAndDenial(t *testing.T) {
	e := newEnv(t)
	e.fake.Put(project, "db", []byte(`{"password":"hunter2"}`), nil)
	reg := prometheus.NewRegistry()
	m := storeruntime.NewManager(e.kube, storeruntime.NewMetrics(reg), storeruntime.Options{}, e.p)
	ctx := context.Background()
	s, err := m.Store(ctx, gcpStore(&esv1.GCPSMProvider{Auth: keyAuth}), "app")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.Fail("AccessSecretVersion", 2, codes.ResourceExhausted, "Quota exceeded for quota metric 'Access requests'")
	if _, _, err := s.Read(ctx, "db", "", 0); err != nil {
		t.Fatalf("read after throttling: %v", err)
	}
	if n := e.fake.Count("AccessSecretVersion"); n != 3 {
		t.Fatalf("attempts = %d, want 3", n)
	}
	if got := providertest.Counter(t, reg, "keyward_provider_store_throttled_total", map[string]string{"call": "Read"}); got != 2 {
		t.Fatalf("throttles counted = %v", got)
	}
	e.fake.Fail("AccessSecretVersion", 1, codes.PermissionDenied, "Permission 'secretmanager.versions.access' denied for resource 'projects/aura-prod/secrets/db/versions/latest'")
	_, _, err = s.Read(ctx, "db", "", 0)
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "SecretStore/app/gcp") {
		t.Fatalf("err = %v", err)
	}
}

func TestPush(t *testing.T) {
	e := newEnv(t)
	e.fake.Put(project, "foreign", []byte("x"), nil)
	c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth})
	ctx := context.Background()
	providertest.Push(ctx, t, c, "foreign", func() int { return e.fake.Count("AddSecretVersion") })
}

func TestEmulatorHostAndSharedKeys(t *testing.T) {
	fake, err := gcpfake.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	for i := range 10 {
		fake.Put(project, fmt.Sprintf("shared-%d", i), []byte("v"), nil)
	}
	p := &Provider{Getenv: func(k string) string {
		if k == EmulatorHostEnv {
			return fake.Addr
		}
		return ""
	}}
	m := storeruntime.NewManager(&kube{Reader: fakeclient.NewClientBuilder().Build()}, nil, storeruntime.Options{}, p)
	ctx := context.Background()
	s, err := m.Store(ctx, gcpStore(&esv1.GCPSMProvider{ProjectID: project}), "app")
	if err != nil {
		t.Fatal(err)
	}
	providertest.AtOnce(t, 100, func(i int) error {
		_, _, err := s.Read(ctx, fmt.Sprintf("shared-%d", i%10), "", time.Hour)
		return err
	})
	if n := fake.Count("AccessSecretVersion"); n != 10 {
		t.Fatalf("AccessSecretVersion calls = %d for 100 reads of 10 keys", n)
	}
}
