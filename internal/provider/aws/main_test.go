package aws

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	testmoto "github.com/keyward/keyward/test/moto"
)

var moto *testmoto.Server

func TestMain(m *testing.M) {
	// The SDK finds moto through its standard endpoint variable; nothing
	// on this machine's AWS configuration may leak into the tests.
	hermetic := map[string]string{
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           "AKIDDEFAULTCHAIN",
		"AWS_SECRET_ACCESS_KEY":       "default-chain-secret",
		"AWS_REGION":                  "",
		"AWS_PROFILE":                 "",
	}
	for k, v := range hermetic {
		os.Setenv(k, v)
	}
	os.Exit(testmoto.Main(m, &moto, func(s *testmoto.Server) { os.Setenv("AWS_ENDPOINT_URL", s.URL) }))
}

// seedConfig is the tests' own AWS configuration, for setting moto up.
func seedConfig() aws.Config {
	return aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(moto.URL),
		Credentials: credentials.NewStaticCredentialsProvider("seed", "seed", "")}
}

// kube is a cluster stand-in: Secrets and ServiceAccounts from a fake
// client, and tokens that record what was asked.
type kube struct {
	client.Reader
	mu        sync.Mutex
	requested [][]string
}

func newKube(objs ...client.Object) *kube {
	return &kube{Reader: fakeclient.NewClientBuilder().WithObjects(objs...).Build()}
}

func (k *kube) ServiceAccountToken(_ context.Context, sa types.NamespacedName, audiences []string, expiry time.Duration) (string, time.Time, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requested = append(k.requested, audiences)
	return fmt.Sprintf("header.%s-%d.sig", sa.Name, len(k.requested)), time.Now().Add(expiry), nil
}

func (k *kube) tokens() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.requested)
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func store(p *esv1.AWSProvider) *esv1.SecretStore {
	if p.Region == "" {
		p.Region = "eu-west-1"
	}
	interval := "5ms"
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "aws-secrets-manager", UID: "uid-1", Generation: 1},
		Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{AWS: p},
			// Short backoff, so throttling tests stay quick.
			RetrySettings: &esv1.SecretStoreRetrySettings{RetryInterval: &interval},
		},
	}
}
