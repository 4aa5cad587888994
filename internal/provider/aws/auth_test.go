package aws

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestAuthModes(t *testing.T) {
	ctx := context.Background()
	staticAuth := esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
		AccessKeyID:     esv1.SecretKeySelector{Name: "aws-creds", Key: "id"},
		SecretAccessKey: esv1.SecretKeySelector{Name: "aws-creds", Key: "secret"},
		SessionToken:    &esv1.SecretKeySelector{Name: "aws-creds", Key: "token"},
	}}
	irsa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "eso",
		Annotations: map[string]string{roleARNAnnotation: "arn:aws:iam::123456789012:role/irsa"}}}
	plainSA := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "plain"}}
	creds := secret("app", "aws-creds", map[string]string{"id": "AKIDSTATIC", "secret": "static-secret", "token": "static-token"})

	for _, tc := range []struct {
		name    string
		spec    esv1.AWSProvider
		wantKey string         // access key id of the credentials in use
		sts     map[string]int // STS calls expected for three reads
		check   func(t *testing.T, k *kube)
		wantErr string
	}{
		{name: "default chain", wantKey: "AKIDDEFAULTCHAIN", sts: map[string]int{}},
		{name: "static keys from a Secret", spec: esv1.AWSProvider{Auth: staticAuth}, wantKey: "AKIDSTATIC", sts: map[string]int{}},
		{name: "assumed role with external ID and session tags",
			spec: esv1.AWSProvider{Auth: staticAuth, Role: "arn:aws:iam::123456789012:role/reader", ExternalID: "ext-42",
				SessionTags: []*esv1.AWSTag{{Key: "team", Value: "payments"}}, TransitiveTagKeys: []string{"team"}},
			sts: map[string]int{"sts.AssumeRole": 1},
			check: func(t *testing.T, _ *kube) {
				p := moto.Params("sts.AssumeRole")[0]
				if p.Get("RoleArn") != "arn:aws:iam::123456789012:role/reader" || p.Get("ExternalId") != "ext-42" ||
					p.Get("Tags.member.1.Key") != "team" || p.Get("Tags.member.1.Value") != "payments" ||
					p.Get("TransitiveTagKeys.member.1") != "team" || p.Get("RoleSessionName") != sessionName {
					t.Fatalf("AssumeRole asked %v", p)
				}
			}},
		{name: "role chain", spec: esv1.AWSProvider{AdditionalRoles: []string{"arn:aws:iam::111111111111:role/hop"}, Role: "arn:aws:iam::123456789012:role/final"},
			sts: map[string]int{"sts.AssumeRole": 2},
			check: func(t *testing.T, _ *kube) {
				p := moto.Params("sts.AssumeRole")
				if p[0].Get("RoleArn") != "arn:aws:iam::111111111111:role/hop" || p[1].Get("RoleArn") != "arn:aws:iam::123456789012:role/final" {
					t.Fatalf("chain asked %v", p)
				}
			}},
		{name: "web identity from a ServiceAccount token (IRSA)",
			spec: esv1.AWSProvider{Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "eso"}}}},
			sts:  map[string]int{"sts.AssumeRoleWithWebIdentity": 1},
			check: func(t *testing.T, k *kube) {
				p := moto.Params("sts.AssumeRoleWithWebIdentity")[0]
				if p.Get("RoleArn") != "arn:aws:iam::123456789012:role/irsa" || p.Get("WebIdentityToken") != "header.eso-1.sig" {
					t.Fatalf("AssumeRoleWithWebIdentity asked %v", p)
				}
				if k.tokens() != 1 || k.requested[0][0] != tokenAudience {
					t.Fatalf("token requests: %v", k.requested)
				}
			}},
		{name: "ServiceAccount without a role annotation",
			spec:    esv1.AWSProvider{Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "plain"}}}},
			wantErr: "has no eks.amazonaws.com/role-arn annotation"},
		{name: "external ID without a role", spec: esv1.AWSProvider{ExternalID: "x"}, wantErr: "set role too"},
		{name: "both auth kinds", spec: esv1.AWSProvider{Auth: esv1.AWSAuth{SecretRef: staticAuth.SecretRef, JWTAuth: &esv1.AWSJWTAuth{}}}, wantErr: "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moto.Reset(t)
			createSecret(t, seedSM(t), "db", `{"u":"x"}`, nil)
			k := newKube(creds.DeepCopy(), irsa.DeepCopy(), plainSA.DeepCopy())
			spec := tc.spec
			spec.Service = "SecretsManager"
			c, err := New().NewClient(ctx, store(&spec), k, "app")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(ctx); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := c.Read(ctx, "db", ""); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.(*SecretsManager).cfg.Credentials.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantKey != "" && got.AccessKeyID != tc.wantKey {
				t.Fatalf("access key in use = %s, want %s", got.AccessKeyID, tc.wantKey)
			}
			for _, op := range []string{"sts.AssumeRole", "sts.AssumeRoleWithWebIdentity"} {
				if n := moto.Count(op); n != tc.sts[op] {
					t.Fatalf("%s calls = %d, want %d (credentials are cached across calls)", op, n, tc.sts[op])
				}
			}
			if tc.check != nil {
				tc.check(t, k)
			}
		})
	}
}

func TestReferent(t *testing.T) {
	ns := "elsewhere"
	for _, tc := range []struct {
		name string
		auth esv1.AWSAuth
		want bool
	}{
		{"no auth", esv1.AWSAuth{}, false},
		{"keys without namespace", esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{}}, true},
		{"keys with namespace", esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
			AccessKeyID: esv1.SecretKeySelector{Namespace: &ns}, SecretAccessKey: esv1.SecretKeySelector{Namespace: &ns}}}, false},
		{"service account without namespace", esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "x"}}}, true},
	} {
		spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Auth: tc.auth}}}
		if got := New().Referent(spec); got != tc.want {
			t.Errorf("%s: Referent = %v", tc.name, got)
		}
	}
}

// TestPerServiceEndpoint: AWS_ENDPOINT_URL_SECRETS_MANAGER wins over
// AWS_ENDPOINT_URL, as the SDK documents.
func TestPerServiceEndpoint(t *testing.T) {
	moto.Reset(t)
	createSecret(t, seedSM(t), "db", "v", nil)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.URL)
	c, err := New().NewClient(context.Background(), store(&esv1.AWSProvider{Service: "SecretsManager"}), newKube(), "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(context.Background(), "db", ""); err != nil {
		t.Fatal(err)
	}
}
