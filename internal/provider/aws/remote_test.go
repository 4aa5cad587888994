package aws

import (
	"context"
	"strings"
	"testing"

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
	s, _ := staticKeysStore(ctx, t)
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
