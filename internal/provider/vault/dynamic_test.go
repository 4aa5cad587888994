package vault

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// TestDynamic makes one call per request against the real Vault and checks
// which part of the answer becomes the keys.
func TestDynamic(t *testing.T) {
	f := setup(t)
	kvPut(t, f.v, "secret/data/app/db", map[string]any{"password": "PLANTED-dyn-8c1e", "port": 5432})
	kvPut(t, f.v, "secret/data/app/db", map[string]any{"password": "PLANTED-dyn-8c1f", "port": 5432})
	root := f.v.Client.Token()
	k := newKube(t, map[string]map[string]string{"root": {"token": root}, "limited": {"token": f.token}})
	ctx := context.Background()
	client := func(t *testing.T, secret string) *Client {
		c, err := New().NewClient(ctx, store(&esv1.VaultProvider{Server: f.v.Addr, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: secret, Key: "token"}}}), k, testNS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c.(*Client)
	}
	rootClient, limited := client(t, "root"), client(t, "limited")

	for _, tt := range []struct {
		name    string
		c       *Client
		req     provider.DynamicRequest
		check   func(t *testing.T, out map[string][]byte)
		wantErr string
	}{
		{name: "GET data, nested values as JSON", c: rootClient, req: provider.DynamicRequest{Path: "secret/data/app/db"},
			check: func(t *testing.T, out map[string][]byte) {
				var d map[string]any
				if err := json.Unmarshal(out["data"], &d); err != nil || d["port"] != float64(5432) || out["metadata"] == nil {
					t.Fatalf("keys %d, data not the KV's JSON", len(out))
				}
			}},
		{name: "POST a token, Auth part", c: rootClient, req: provider.DynamicRequest{Method: "POST", Path: "auth/token/create",
			Parameters: map[string]any{"ttl": "5m", "policies": []string{"default"}}, Result: "Auth"},
			check: func(t *testing.T, out map[string][]byte) {
				if len(out["client_token"]) < 20 {
					t.Fatal("no client_token in the Auth part")
				}
				if string(out["renewable"]) != "true" {
					t.Errorf("renewable = %s; want JSON true", out["renewable"])
				}
			}},
		{name: "Raw answer", c: rootClient, req: provider.DynamicRequest{Method: "post", Path: "auth/token/create", Result: "Raw"},
			check: func(t *testing.T, out map[string][]byte) {
				if out["auth"] == nil || out["request_id"] == nil {
					t.Fatal("the Raw answer lacks auth or request_id")
				}
			}},
		{name: "GET with a query: an older KV version", c: rootClient, req: provider.DynamicRequest{Path: "secret/data/app/db", Query: map[string][]string{"version": {"1"}}},
			check: func(t *testing.T, out map[string][]byte) {
				var m map[string]any
				if err := json.Unmarshal(out["metadata"], &m); err != nil || m["version"] != float64(1) {
					t.Fatalf("metadata does not say version 1")
				}
			}},
		{name: "LIST", c: rootClient, req: provider.DynamicRequest{Method: "LIST", Path: "secret/metadata/app"},
			check: func(t *testing.T, out map[string][]byte) {
				if string(out["keys"]) != `["db"]` {
					t.Fatalf("keys = %s", out["keys"])
				}
			}},
		{name: "empty answer refused", c: rootClient, req: provider.DynamicRequest{Method: "DELETE", Path: "secret/data/app/other"},
			wantErr: "DELETE secret/data/app/other: Vault answered with nothing (set allowEmptyResponse"},
		{name: "empty answer allowed", c: rootClient, req: provider.DynamicRequest{Method: "DELETE", Path: "secret/data/app/other", AllowEmpty: true},
			check: func(t *testing.T, out map[string][]byte) {
				if len(out) != 0 {
					t.Fatal("keys from an empty answer")
				}
			}},
		{name: "denied path names method and path only", c: limited, req: provider.DynamicRequest{Method: "POST", Path: "auth/token/create"},
			wantErr: "auth/token/create"},
		{name: "no path", c: rootClient, req: provider.DynamicRequest{Path: "/"}, wantErr: "path: required"},
		{name: "unknown result type", c: rootClient, req: provider.DynamicRequest{Path: "secret/data/app/db", Result: "Body"}, wantErr: `resultType: "Body"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.c.Dynamic(ctx, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), root) || strings.Contains(err.Error(), "PLANTED") {
					t.Fatal("the error carries a credential or a value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, out)
		})
	}
}
