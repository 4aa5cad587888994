package vault

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// Namespaces and headers are what Vault Enterprise and proxies see; the
// open-source server ignores them, so a recording server checks them.
func TestNamespacesAndHeaders(t *testing.T) {
	type seen struct{ path, namespace, token, custom, inconsistent string }
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, seen{r.URL.Path, r.Header.Get("X-Vault-Namespace"), r.Header.Get("X-Vault-Token"),
			r.Header.Get("X-Team"), r.Header.Get("X-Vault-Inconsistent")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/auth/approle/login":
			json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"client_token": "tok-1", "lease_duration": 0}})
		case "/v1/secret/data/app":
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": map[string]any{"k": "v"}}})
		case "/v1/auth/token/revoke-self":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()

	tests := []struct {
		name            string
		secretNS, auth  *string
		wantLogin, want string
	}{
		{"one namespace for both", str("team-a"), nil, "team-a", "team-a"},
		{"auth in the parent namespace", str("team-a/app"), str("team-a"), "team-a", "team-a/app"},
		{"no namespace", nil, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			reqs = nil
			mu.Unlock()
			spec := &esv1.VaultProvider{Server: srv.URL, Path: str("secret"), Namespace: tt.secretNS,
				Headers: map[string]string{"X-Team": "aura"}, ForwardInconsistent: true,
				Auth: &esv1.VaultAuth{Namespace: tt.auth, AppRole: &esv1.VaultAppRole{RoleID: "r", SecretRef: ref("approle", "secret-id")}}}
			k := newKube(t, map[string]map[string]string{"approle": {"secret-id": "s"}})
			// The controller's environment must not leak into a store's client.
			t.Setenv("VAULT_TOKEN", "from-the-environment")
			t.Setenv("VAULT_NAMESPACE", "from-the-environment")
			c, err := New().NewClient(context.Background(), store(spec), k, testNS)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(context.Background(), "app", ""); err != nil {
				t.Fatal(err)
			}
			c.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(reqs) != 3 {
				t.Fatalf("requests = %+v; want login, read, revoke", reqs)
			}
			login, read, revoke := reqs[0], reqs[1], reqs[2]
			if login.namespace != tt.wantLogin || login.token != "" {
				t.Errorf("login sent namespace %q token %q; want %q and none", login.namespace, login.token, tt.wantLogin)
			}
			if read.namespace != tt.want || read.token != "tok-1" || revoke.token != "tok-1" {
				t.Errorf("read sent namespace %q token %q; want %q and the login's token", read.namespace, read.token, tt.want)
			}
			for _, r := range reqs {
				if r.custom != "aura" || r.inconsistent != "forward-active-node" {
					t.Errorf("%s lacks the store's headers: %+v", r.path, r)
				}
			}
		})
	}
}

func TestHeadersMayNotSetVaultOwn(t *testing.T) {
	_, err := New().NewClient(context.Background(), store(&esv1.VaultProvider{Server: "http://127.0.0.1:1",
		Headers: map[string]string{"x-vault-token": "x"}, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "t", Key: "t"}}}),
		newKube(t, nil), testNS)
	if err == nil {
		t.Fatal("a header setting the Vault token was accepted")
	}
}
