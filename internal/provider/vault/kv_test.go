package vault

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestKVPaths(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name      string
		path      *string
		version   string
		key       string
		data, md  string
		wantError string
	}{
		{name: "v2 with mount", path: str("secret"), key: "aura/production/postgres",
			data: "secret/data/aura/production/postgres", md: "secret/metadata/aura/production/postgres"},
		{name: "v2 key repeating the mount", path: str("secret"), key: "secret/aura/production/postgres",
			data: "secret/data/aura/production/postgres", md: "secret/metadata/aura/production/postgres"},
		{name: "v2 key repeating mount and data", path: str("secret"), key: "secret/data/aura/production/postgres",
			data: "secret/data/aura/production/postgres", md: "secret/metadata/aura/production/postgres"},
		{name: "v2 nested mount", path: str("/team/kv/"), key: "app",
			data: "team/kv/data/app", md: "team/kv/metadata/app"},
		{name: "v2 no mount, first segment", key: "secret/aura/production/postgres",
			data: "secret/data/aura/production/postgres", md: "secret/metadata/aura/production/postgres"},
		{name: "v2 no mount, full data path", key: "team/kv/data/app",
			data: "team/kv/data/app", md: "team/kv/metadata/app"},
		{name: "v2 no mount, one segment", key: "app", wantError: "must be <mount>/<secret>"},
		{name: "empty key", path: str("secret"), key: "/", wantError: "empty"},
		{name: "v1 with mount", path: str("kv"), version: "v1", key: "aura/production/postgres",
			data: "kv/aura/production/postgres", wantError: "KV v1 keeps no metadata"},
		{name: "v1 key repeating the mount keeps data/", path: str("kv"), version: "v1", key: "kv/data/x",
			data: "kv/data/x", wantError: "KV v1 keeps no metadata"},
		{name: "v1 no mount", version: "v1", key: "kv/app", data: "kv/app", wantError: "KV v1 keeps no metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := newKV(&esv1.VaultProvider{Path: tt.path, Version: tt.version})
			if err != nil {
				t.Fatal(err)
			}
			data, derr := k.data(tt.key)
			md, merr := k.metadata(tt.key)
			if tt.data != "" {
				if derr != nil || data != tt.data {
					t.Errorf("data(%q) = %q, %v; want %q", tt.key, data, derr, tt.data)
				}
			}
			if tt.md != "" {
				if merr != nil || md != tt.md {
					t.Errorf("metadata(%q) = %q, %v; want %q", tt.key, md, merr, tt.md)
				}
			}
			if tt.wantError != "" {
				err := merr
				if tt.data == "" {
					err = derr
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Errorf("error = %v; want one containing %q", err, tt.wantError)
				}
			}
		})
	}
}

func TestKVListPath(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		path    *string
		version string
		prefix  string
		want    string
	}{
		{str("secret"), "", "", "secret/metadata"},
		{str("secret"), "v2", "/aura/", "secret/metadata/aura"},
		{str("kv"), "v1", "aura", "kv/aura"},
		{nil, "", "aura", ""},
	}
	for _, tt := range tests {
		k, err := newKV(&esv1.VaultProvider{Path: tt.path, Version: tt.version})
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.list(tt.prefix)
		if tt.want == "" {
			if err == nil {
				t.Errorf("list(%q) with no mount = %q; want an error", tt.prefix, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("list(%q) = %q, %v; want %q", tt.prefix, got, err, tt.want)
		}
	}
}

func TestNewKVRejectsUnknownVersion(t *testing.T) {
	if _, err := newKV(&esv1.VaultProvider{Version: "v3"}); err == nil || !strings.Contains(err.Error(), "spec.provider.vault.version") {
		t.Fatalf("error = %v", err)
	}
}

func TestVaultErrorIsOneLine(t *testing.T) {
	tests := []struct {
		name string
		in   *api.ResponseError
		want string
	}{
		{"messages", &api.ResponseError{HTTPMethod: "GET", URL: "http://127.0.0.1:8200/v1/secret/data/app?version=2", StatusCode: 403, Errors: []string{"permission denied"}},
			"vault: GET secret/data/app: the server answered 403 Forbidden (permission denied)"},
		{"no messages", &api.ResponseError{HTTPMethod: "PUT", URL: "http://v/v1/auth/approle/login", StatusCode: 500},
			"vault: PUT auth/approle/login: the server answered 500 Internal Server Error"},
		{"raw body", &api.ResponseError{HTTPMethod: "GET", URL: "http://v/v1/x/y", StatusCode: 502, RawError: true, Errors: []string{"<html>\n  " + strings.Repeat("a", 300)}},
			"vault: GET x/y: the server answered 502 Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := vaultError(tt.in)
			if err.Error() != tt.want {
				t.Errorf("got  %q\nwant %q", err.Error(), tt.want)
			}
			var re *api.ResponseError
			if !errors.As(err, &re) {
				t.Error("the API error is no longer reachable with errors.As")
			}
			if (tt.in.StatusCode == http.StatusForbidden) != isForbidden(err) {
				t.Error("isForbidden disagrees with the status")
			}
		})
	}
}

func TestReferent(t *testing.T) {
	ns := "vault"
	sel := func(n *string) *esv1.SecretKeySelector {
		return &esv1.SecretKeySelector{Name: "s", Key: "k", Namespace: n}
	}
	tests := []struct {
		name string
		v    esv1.VaultProvider
		want bool
	}{
		{"token without namespace", esv1.VaultProvider{Auth: &esv1.VaultAuth{TokenSecretRef: sel(nil)}}, true},
		{"token with namespace", esv1.VaultProvider{Auth: &esv1.VaultAuth{TokenSecretRef: sel(&ns)}}, false},
		{"approle literal role, secret with namespace", esv1.VaultProvider{Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: "r", SecretRef: *sel(&ns)}}}, false},
		{"approle roleRef without namespace", esv1.VaultProvider{Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleRef: sel(nil), SecretRef: *sel(&ns)}}}, true},
		{"kubernetes service account without namespace", esv1.VaultProvider{Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "r", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "sa"}}}}, true},
		{"kubernetes own token", esv1.VaultProvider{Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "r"}}}, false},
		{"jwt service account with namespace", esv1.VaultProvider{Auth: &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{ServiceAccountRef: esv1.ServiceAccountSelector{Name: "sa", Namespace: &ns}}}}}, false},
		{"CA from a ConfigMap without namespace", esv1.VaultProvider{CAProvider: &esv1.CAProvider{Type: "ConfigMap", Name: "ca"}, Auth: &esv1.VaultAuth{TokenSecretRef: sel(&ns)}}, true},
		{"client TLS without namespace", esv1.VaultProvider{TLS: esv1.VaultClientTLS{CertSecretRef: sel(nil), KeySecretRef: sel(nil)}, Auth: &esv1.VaultAuth{TokenSecretRef: sel(&ns)}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &tt.v}}
			if got := New().Referent(spec); got != tt.want {
				t.Errorf("Referent = %v; want %v", got, tt.want)
			}
		})
	}
}
