package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/prometheus/client_golang/prometheus"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/storeruntime"
	"github.com/keyward/keyward/test/providertest"
)

// seedSM is a Secrets Manager client of the test's own, for setting moto up.
func seedSM(t *testing.T) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(seedConfig())
}

func createSecret(t *testing.T, sm *secretsmanager.Client, name, value string, tags map[string]string) string {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}
	for k, v := range tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := sm.CreateSecret(context.Background(), in)
	if err != nil {
		t.Fatalf("seeding %s: %v", name, err)
	}
	return aws.ToString(out.VersionId)
}

func smClient(t *testing.T, p *esv1.AWSProvider, k *kube) provider.Client {
	t.Helper()
	p.Service = "SecretsManager"
	c, err := New().NewClient(context.Background(), store(p), k, "app")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSecretsManagerRead(t *testing.T) {
	moto.Reset(t)
	sm := seedSM(t)
	ctx := context.Background()
	first := createSecret(t, sm, "aura/production/postgres", `{"db-uri":"postgresql://app:one@db/aura","nested":{"port":5432}}`, nil)
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("aura/production/postgres"),
		SecretString: aws.String(`{"db-uri":"postgresql://app:two@db/aura"}`)}); err != nil {
		t.Fatal(err)
	}
	createSecret(t, sm, "plain", "not json", nil)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("binary"), SecretBinary: []byte{0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	createSecret(t, sm, "team-a/api", `{"key":"k"}`, nil)

	c := smClient(t, &esv1.AWSProvider{}, newKube())
	prefixed := smClient(t, &esv1.AWSProvider{Prefix: "team-a/"}, newKube())
	for _, tc := range []struct {
		name               string
		c                  provider.Client
		key, version, prop string
		want               string
		notFound, wantErr  bool
	}{
		{name: "property of the current version", c: c, key: "aura/production/postgres", prop: "db-uri", want: "postgresql://app:two@db/aura"},
		{name: "stage AWSPREVIOUS", c: c, key: "aura/production/postgres", version: "AWSPREVIOUS", prop: "db-uri", want: "postgresql://app:one@db/aura"},
		{name: "version id", c: c, key: "aura/production/postgres", version: "uuid/" + first, prop: "nested.port", want: "5432"},
		{name: "whole value", c: c, key: "plain", want: "not json"},
		{name: "binary", c: c, key: "binary", want: "\x00\x01\x02"},
		{name: "prefix", c: prefixed, key: "api", prop: "key", want: "k"},
		{name: "missing secret", c: c, key: "nope", notFound: true},
		{name: "missing stage", c: c, key: "plain", version: "NOSUCHSTAGE", notFound: true},
		{name: "missing property", c: c, key: "aura/production/postgres", prop: "absent", notFound: true},
		{name: "property of a value that is not JSON", c: c, key: "plain", prop: "db-uri", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.Read(ctx, t, tc.c, tc.key, tc.version, tc.prop, providertest.Expect{Value: tc.want, NotFound: tc.notFound, Err: tc.wantErr, ErrText: "not JSON"})
		})
	}

	md, err := c.(provider.MetadataReader).ReadMetadata(ctx, "aura/production/postgres")
	if err != nil || string(md.Value) != "{}" {
		t.Fatalf("metadata = %q, %v", md.Value, err)
	}
	createSecret(t, sm, "tagged", "x", map[string]string{"team": "payments"})
	md, err = c.(provider.MetadataReader).ReadMetadata(ctx, "tagged")
	if v, _ := md.Property("team"); err != nil || string(v) != "payments" {
		t.Fatalf("metadata = %q, %v", md.Value, err)
	}
}

func TestSecretsManagerFindPaginates(t *testing.T) {
	moto.Reset(t)
	sm := seedSM(t)
	// More than one ListSecrets page (100) and several BatchGetSecretValue batches (20).
	for i := range 105 {
		tags := map[string]string{"env": "prod"}
		if i%2 == 1 {
			tags["env"] = "dev"
		}
		createSecret(t, sm, fmt.Sprintf("app/s%03d", i), fmt.Sprintf(`{"n":%d}`, i), tags)
	}
	createSecret(t, sm, "other/x", "x", map[string]string{"env": "prod"})
	c := smClient(t, &esv1.AWSProvider{}, newKube())
	ctx := context.Background()
	path := "app/"

	lists, batches := moto.Count("secretsmanager.ListSecrets"), moto.Count("secretsmanager.BatchGetSecretValue")
	all, err := c.Find(ctx, esv1.ExternalSecretFind{Path: &path})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 105 || string(all["app/s104"].Value) != `{"n":104}` {
		t.Fatalf("find by path: %d secrets", len(all))
	}
	if n := moto.Count("secretsmanager.ListSecrets") - lists; n < 2 {
		t.Fatalf("ListSecrets calls = %d, want at least 2 pages", n)
	}
	if n := moto.Count("secretsmanager.BatchGetSecretValue") - batches; n != 6 {
		t.Fatalf("BatchGetSecretValue calls = %d, want 6 (105 values in batches of 20)", n)
	}

	prod, err := c.Find(ctx, esv1.ExternalSecretFind{Tags: map[string]string{"env": "prod"}, Name: &esv1.FindName{RegExp: `^app/s00\d$`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(prod) != 5 { // s000, s002, s004, s006, s008
		t.Fatalf("find by tag and name: %v", keys(prod))
	}
	if _, err := c.Find(ctx, esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "("}}); err == nil {
		t.Fatal("a bad regexp was accepted")
	}
}

func keys(m map[string]provider.Secret) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// manager wraps the provider in the shared provider layer, with metrics.
func manager(k *kube) (*storeruntime.Manager, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return storeruntime.NewManager(k, storeruntime.NewMetrics(reg), storeruntime.Options{}, New()), reg
}

// staticKeysStore is a Secrets Manager store of namespace app, through the
// shared provider layer, signing in with the static keys of Secret
// app/aws-creds; the registry holds its metrics.
func staticKeysStore(ctx context.Context, t *testing.T) (*storeruntime.Store, *prometheus.Registry) {
	t.Helper()
	m, reg := manager(newKube(secret("app", "aws-creds", map[string]string{"id": "AKIDSTATICKEY", "secret": "very-secret-access-key"})))
	auth := esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
		AccessKeyID:     esv1.SecretKeySelector{Name: "aws-creds", Key: "id"},
		SecretAccessKey: esv1.SecretKeySelector{Name: "aws-creds", Key: "secret"},
	}}
	s, err := m.Store(ctx, store(&esv1.AWSProvider{Service: "SecretsManager", Auth: auth}), "app")
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

func TestSecretsManagerErrors(t *testing.T) {
	moto.Reset(t)
	createSecret(t, seedSM(t), "db", `{"password":"hunter2"}`, nil)
	ctx := context.Background()
	s, reg := staticKeysStore(ctx, t)

	t.Run("throttling is backed off, retried and counted", func(t *testing.T) {
		moto.Throttle("secretsmanager.GetSecretValue", 2)
		before := moto.Count("secretsmanager.GetSecretValue")
		v, _, err := s.Read(ctx, "db", "", 0)
		if err != nil || !strings.Contains(string(v.Value), "hunter2") {
			t.Fatalf("read after throttling: %v", err)
		}
		if n := moto.Count("secretsmanager.GetSecretValue") - before; n != 3 {
			t.Fatalf("attempts = %d, want 3", n)
		}
		got := providertest.Counter(t, reg, "keyward_provider_store_throttled_total", map[string]string{"provider": "aws", "call": "Read"})
		if got != 2 {
			t.Fatalf("throttles counted = %v, want 2", got)
		}
	})
	for _, tc := range []struct{ name, code, msg string }{
		{"access denied", "AccessDeniedException", "User: arn:aws:iam::123456789012:user/keyward is not authorized to perform: secretsmanager:GetSecretValue"},
		{"bad credentials", "UnrecognizedClientException", "The security token included in the request is invalid."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moto.Fail("secretsmanager.GetSecretValue", 1, 400, tc.code, tc.msg)
			_, _, err := s.Read(ctx, "db", "", 0)
			if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			for _, leak := range []string{"very-secret-access-key", "hunter2"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
			if !strings.Contains(err.Error(), `"db"`) || !strings.Contains(err.Error(), "SecretStore/app/aws-secrets-manager") {
				t.Fatalf("the error does not name the store and key: %v", err)
			}
		})
	}
	t.Run("missing credentials Secret", func(t *testing.T) {
		_, err := New().NewClient(ctx, store(&esv1.AWSProvider{Service: "SecretsManager", Auth: esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
			AccessKeyID:     esv1.SecretKeySelector{Name: "absent", Key: "id"},
			SecretAccessKey: esv1.SecretKeySelector{Name: "absent", Key: "secret"},
		}}}), newKube(), "app")
		if err == nil || !strings.Contains(err.Error(), "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSecretsManagerPush(t *testing.T) {
	moto.Reset(t)
	sm := seedSM(t)
	createSecret(t, sm, "foreign", `{"a":"1"}`, nil)
	w := smClient(t, &esv1.AWSProvider{SecretsManager: &esv1.AWSSecretsManager{ForceDeleteWithoutRecovery: true}}, newKube()).(*SecretsManager)
	ctx := context.Background()

	if err := w.Write(ctx, "pushed", "user", []byte("app")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, "pushed", "password", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	puts := moto.Count("secretsmanager.PutSecretValue")
	if err := w.Write(ctx, "pushed", "password", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if moto.Count("secretsmanager.PutSecretValue") != puts {
		t.Fatal("an unchanged value was written again")
	}
	got, err := w.Read(ctx, "pushed", "")
	if err != nil || string(got.Value) != `{"password":"pw","user":"app"}` {
		t.Fatalf("pushed value = %q, %v", got.Value, err)
	}
	md, _ := w.ReadMetadata(ctx, "pushed")
	if v, _ := md.Property("managed-by"); string(v) != "external-secrets" {
		t.Fatalf("tags = %s", md.Value)
	}
	if err := w.Write(ctx, "foreign", "a", []byte("2")); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("overwrote a secret PushSecret did not create: %v", err)
	}
	if err := w.Delete(ctx, "foreign", ""); err == nil {
		t.Fatal("deleted a secret PushSecret did not create")
	}
	if err := w.Delete(ctx, "pushed", "user"); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.Read(ctx, "pushed", ""); string(got.Value) != `{"password":"pw"}` {
		t.Fatalf("after deleting a property: %q", got.Value)
	}
	if err := w.Delete(ctx, "pushed", "password"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Read(ctx, "pushed", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("the secret outlived its last property: %v", err)
	}
	if err := w.Delete(ctx, "pushed", ""); err != nil {
		t.Fatalf("deleting a missing secret: %v", err)
	}
}

// TestSharedKeysCostOneReadEach: 100 ExternalSecrets reading 10 keys through
// the shared provider layer make 10 GetSecretValue calls.
func TestSharedKeysCostOneReadEach(t *testing.T) {
	moto.Reset(t)
	sm := seedSM(t)
	for i := range 10 {
		createSecret(t, sm, fmt.Sprintf("shared/%d", i), fmt.Sprintf(`{"v":"%d"}`, i), nil)
	}
	ctx := context.Background()
	s, _ := staticKeysStore(ctx, t)
	before := moto.Count("secretsmanager.GetSecretValue")
	providertest.AtOnce(t, 100, func(i int) error {
		_, _, err := s.Read(ctx, fmt.Sprintf("shared/%d", i%10), "", time.Hour)
		return err
	})
	if n := moto.Count("secretsmanager.GetSecretValue") - before; n != 10 {
		t.Fatalf("GetSecretValue calls = %d for 100 reads of 10 keys", n)
	}
}
