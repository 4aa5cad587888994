package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	testmoto "github.com/keyward/keyward/test/moto"
)

// sameShape is the guide's ExternalSecret pointed at another store and key.
func sameShape(ns, name, store, key string) *esv1.ExternalSecret {
	return &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: store, Kind: esv1.SecretStoreKind},
			RefreshInterval: esDuration(time.Hour),
			Target:          esv1.ExternalSecretTarget{Name: name},
			Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "db-uri"}}},
		},
	}
}

// fanOut creates n ExternalSecrets reading keys[i%len(keys)] from store and
// waits until every one has synced.
func (e *esEnv) fanOut(ctx context.Context, t *testing.T, ns, store string, n int, keys []string) {
	t.Helper()
	for i := range n {
		es := sameShape(ns, fmt.Sprintf("fan-%03d", i), store, keys[i%len(keys)])
		e.create(ctx, t, es)
	}
	for i := range n {
		e.waitReady(ctx, t, ns, fmt.Sprintf("fan-%03d", i), corev1.ConditionTrue, esv1.ReasonSecretSynced)
	}
}

// TestCloudAWS: the guide's exact ExternalSecret syncs from Secrets Manager
// (moto_server, reached through AWS_ENDPOINT_URL as users reach LocalStack),
// the same shape from Parameter Store, and 100 ExternalSecrets sharing 10
// keys cost one store read per key.
func TestCloudAWS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	moto, err := testmoto.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	// Read when a store's client is built, which happens in this test.
	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	sm := secretsmanager.New(secretsmanager.Options{Region: "eu-west-1", BaseEndpoint: aws.String(moto.URL),
		Credentials: credentials.NewStaticCredentialsProvider("seed", "seed", "")})
	ps := ssm.New(ssm.Options{Region: "eu-west-1", BaseEndpoint: aws.String(moto.URL),
		Credentials: credentials.NewStaticCredentialsProvider("seed", "seed", "")})
	const uri = `{"db-uri":"postgresql://aura:s3cr3t@db.internal/aura","username":"aura"}`
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("aura/production/postgres"), SecretString: aws.String(uri)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/aura/production/postgres"), Value: aws.String(uri),
		Type: ssmtypes.ParameterTypeSecureString, Tags: []ssmtypes.Tag{{Key: aws.String("owner"), Value: aws.String("team-aura")}}}); err != nil {
		t.Fatal(err)
	}
	var shared []string
	for i := range 10 {
		name := fmt.Sprintf("aura/shared/%d", i)
		shared = append(shared, name)
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name),
			SecretString: aws.String(fmt.Sprintf(`{"db-uri":"postgresql://shared-%d"}`, i))}); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/" + name),
			Value: aws.String(fmt.Sprintf(`{"db-uri":"postgresql://shared-%d"}`, i)), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
	}

	auth := esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
		AccessKeyID:     esv1.SecretKeySelector{Name: "aws-credentials", Key: "access-key-id"},
		SecretAccessKey: esv1.SecretKeySelector{Name: "aws-credentials", Key: "secret-access-key"},
	}}
	e.create(ctx, t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "aws-credentials"},
			StringData: map[string]string{"access-key-id": "AKIAKEYWARDE2E", "secret-access-key": "e2e-secret-access-key"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "aws-secrets-manager"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1", Auth: auth}}}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "aws-parameter-store"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: "ParameterStore", Region: "eu-west-1", Auth: auth}}}},
	)

	e.applyGuide(ctx, t, app, "aws-secrets-manager", "aura/production/postgres", "")
	e.create(ctx, t, sameShape(app, "backend-secrets-ssm", "aws-parameter-store", "/aura/production/postgres"))
	// metadataPolicy Fetch reads the parameter's tags; property picks one.
	withTags := sameShape(app, "backend-secrets-owner", "aws-parameter-store", "/aura/production/postgres")
	withTags.Spec.Data[0].RemoteRef.MetadataPolicy = esv1.MetadataPolicyFetch
	withTags.Spec.Data[0].RemoteRef.Property = "owner"
	e.create(ctx, t, withTags)
	e.waitReady(ctx, t, app, "backend-secrets-owner", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	if s := e.waitSecret(ctx, t, app, "backend-secrets-owner", nil); string(s.Data["postgres-db-uri"]) != "team-aura" {
		t.Fatalf("metadataPolicy Fetch: data = %q, want the owner tag", s.Data["postgres-db-uri"])
	}
	for _, name := range []string{"backend-secrets", "backend-secrets-ssm"} {
		e.waitReady(ctx, t, app, name, corev1.ConditionTrue, esv1.ReasonSecretSynced)
		s := e.waitSecret(ctx, t, app, name, nil)
		if got := string(s.Data["postgres-db-uri"]); got != "postgresql://aura:s3cr3t@db.internal/aura" || len(s.Data) != 1 {
			t.Fatalf("%s: data = %v", name, s.Data)
		}
	}
	if m := e.metricsText(t); strings.Contains(m, "s3cr3t") || strings.Contains(m, "e2e-secret-access-key") {
		t.Fatal("a secret value or credential reached the metrics")
	}

	for _, tc := range []struct{ store, op, prefix string }{
		{"aws-secrets-manager", "secretsmanager.GetSecretValue", ""},
		{"aws-parameter-store", "AmazonSSM.GetParameter", "/"},
	} {
		ns := newNamespace(ctx, t)
		e.create(ctx, t,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws-credentials"},
				StringData: map[string]string{"access-key-id": "AKIAKEYWARDE2E", "secret-access-key": "e2e-secret-access-key"}},
			&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.store},
				Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
					Service: map[string]string{"aws-secrets-manager": "SecretsManager", "aws-parameter-store": "ParameterStore"}[tc.store],
					Region:  "eu-west-1", Auth: auth}}}})
		keys := make([]string, len(shared))
		for i, k := range shared {
			keys[i] = tc.prefix + k
		}
		before := moto.Calls()
		e.fanOut(ctx, t, ns, tc.store, 100, keys)
		after := moto.Calls()
		reads := after[tc.op] - before[tc.op]
		t.Logf("%s: 100 ExternalSecrets over 10 keys: %d %s calls, %d STS calls, all calls %v",
			tc.store, reads, tc.op, after["sts.AssumeRole"]-before["sts.AssumeRole"], diff(before, after))
		if reads != 10 {
			t.Errorf("%s: %d reads for 10 shared keys, want 10", tc.store, reads)
		}
	}
}

func diff(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
