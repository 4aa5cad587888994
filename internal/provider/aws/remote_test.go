package aws

import (
	"context"
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/test/providertest"
)

// An AWS error's message, and a code outside the known set, must not reach
// an error: only the status and a known code.
func TestRemoteMessagesStayOut(t *testing.T) {
	const canary = "Cn4ry-r3ply-b0dy"
	moto.Reset(t)
	createSecret(t, seedSM(t), "db", `{"password":"hunter2"}`, nil)
	ctx := context.Background()
	k := newKube(secret("app", "aws-creds", map[string]string{"id": "AKIDSTATICKEY", "secret": "very-secret-access-key"}))
	auth := esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
		AccessKeyID:     esv1.SecretKeySelector{Name: "aws-creds", Key: "id"},
		SecretAccessKey: esv1.SecretKeySelector{Name: "aws-creds", Key: "secret"},
	}}
	m, _ := manager(k)
	s, err := m.Store(ctx, store(&esv1.AWSProvider{Service: "SecretsManager", Auth: auth}), "app")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, code string
		status     int
		want       string
		kind       error
	}{
		{"known code", "AccessDeniedException", 400, "the server answered 400 Bad Request (AccessDeniedException)", provider.ErrDenied},
		{"unknown code", "Weird" + strings.ReplaceAll(canary, "-", ""), 403, "the server answered 403 Forbidden", provider.ErrDenied},
		{"server error", "InternalServiceError", 500, "the server answered 500 Internal Server Error (InternalServiceError)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Enough failures to outlast the SDK's retries of a 500.
			moto.Fail("secretsmanager.GetSecretValue", 5, tt.status, tt.code, "message "+canary)
			defer moto.Reset(t)
			_, _, err := s.Read(ctx, "db", "", 0)
			providertest.CheckRemoteError(t, err, providertest.RemoteError{
				Reply: []string{canary, strings.ReplaceAll(canary, "-", "")},
				Holds: []string{tt.want, `GetSecretValue "db"`}, Kind: tt.kind,
			})
		})
	}
}
