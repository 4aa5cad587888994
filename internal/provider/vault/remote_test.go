package vault

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/test/providertest"
)

// A Vault server is one the store's author chose: what it answers must not
// reach an error, only the status.
func TestRemoteReplyBodiesStayOut(t *testing.T) {
	const canary = "Cn4ry-r3ply-b0dy"
	tests := []struct {
		name     string
		status   int
		body     string
		want     string
		kind     error
		validate bool
	}{
		{"403 with Vault errors", http.StatusForbidden, `{"errors":["permission denied ` + canary + `"]}`, "the server answered 403 Forbidden", provider.ErrDenied, false},
		{"500 raw page", http.StatusInternalServerError, "<html>" + canary + "</html>", "the server answered 500 Internal Server Error", nil, false},
		{"429", http.StatusTooManyRequests, `{"errors":["` + canary + `"]}`, "the server answered 429 Too Many Requests", provider.ErrThrottled, false},
		{"200 with a body that is not JSON", http.StatusOK, canary + "{", "the call failed or its reply could not be read", nil, false},
		{"validate 403", http.StatusForbidden, `{"errors":["` + canary + `"]}`, "the server answered 403 Forbidden", provider.ErrDenied, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/auth/token/revoke-self" {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			spec := &esv1.VaultProvider{Server: srv.URL, Path: str("secret"),
				Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "tok", Key: "token"}}}
			k := newKube(t, map[string]map[string]string{"tok": {"token": "t"}})
			c, err := New().NewClient(context.Background(), store(spec), k, testNS)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tt.validate {
				err = c.Validate(context.Background())
			} else {
				_, err = c.Read(context.Background(), "app", "")
			}
			providertest.CheckRemoteError(t, err, providertest.RemoteError{
				Reply: []string{canary}, Holds: []string{tt.want, "vault: "}, Kind: tt.kind,
			})
		})
	}
}
