package azure

import (
	"context"
	"testing"

	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/test/providertest"
)

// vaultUrl may name any server: its error code and message must not reach
// an error, only the status.
func TestRemoteReplyBodiesStayOut(t *testing.T) {
	const canary = "Cn4ry-r3ply-b0dy"
	tests := []struct {
		name   string
		op     string
		status int
		want   string
		kind   error
		call   func(*Client) error
	}{
		{"read 403", "GetSecret", 403, "the server answered 403 Forbidden", provider.ErrDenied,
			func(c *Client) error { _, err := c.Read(context.Background(), "db", ""); return err }},
		{"read 400", "GetSecret", 400, "the server answered 400 Bad Request", nil,
			func(c *Client) error { _, err := c.Read(context.Background(), "db", ""); return err }},
		{"read 404", "GetSecret", 404, "the server answered 404 Not Found", provider.ErrNotFound,
			func(c *Client) error { _, err := c.Read(context.Background(), "db", ""); return err }},
		{"write 403", "SetSecret", 403, "the server answered 403 Forbidden", provider.ErrDenied,
			func(c *Client) error { return c.Write(context.Background(), "db", "k", []byte("v")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Put("db", `{"k":"old"}`, map[string]string{"managed-by": "external-secrets"})
			c := e.client(t, spSecret())
			if _, err := c.Read(context.Background(), "db", ""); err != nil { // past the challenge
				t.Fatal(err)
			}
			e.fake.Fail(tt.op, 1, tt.status, "Code"+canary, "message "+canary)
			err := tt.call(c)
			providertest.CheckRemoteError(t, err, providertest.RemoteError{
				Reply: []string{canary}, Holds: []string{tt.want}, Prefix: "azure: ", Kind: tt.kind,
			})
		})
	}
}
