package aws

import (
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestAmbientIdentity(t *testing.T) {
	keys := &esv1.AWSSecretRef{AccessKeyID: esv1.SecretKeySelector{Name: "c", Key: "id"}, SecretAccessKey: esv1.SecretKeySelector{Name: "c", Key: "s"}}
	jwt := &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}}
	for _, tc := range []struct {
		name string
		spec esv1.AWSProvider
		want string
	}{
		{"default chain", esv1.AWSProvider{}, "spec.provider.aws.auth"},
		{"role assumed with the default chain", esv1.AWSProvider{Role: "arn:aws:iam::1:role/r"}, "spec.provider.aws.auth"},
		{"role chain on the default chain", esv1.AWSProvider{AdditionalRoles: []string{"arn:aws:iam::1:role/h"}}, "spec.provider.aws.auth"},
		{"static keys", esv1.AWSProvider{Auth: esv1.AWSAuth{SecretRef: keys}}, ""},
		{"role on static keys", esv1.AWSProvider{Auth: esv1.AWSAuth{SecretRef: keys}, Role: "arn:aws:iam::1:role/r"}, ""},
		{"IRSA through a ServiceAccount", esv1.AWSProvider{Auth: esv1.AWSAuth{JWTAuth: jwt}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &tc.spec}}
			got, instead := New().AmbientIdentity(spec)
			if got != tc.want {
				t.Fatalf("AmbientIdentity = %q, want %q", got, tc.want)
			}
			if (got == "") != (instead == "") {
				t.Fatalf("field %q but instead %q", got, instead)
			}
		})
	}
}
