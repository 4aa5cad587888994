package vault

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/testvault"
)

// fixture is a real Vault with a KV v1 mount, a policy and every auth
// method the tests log in with.
type fixture struct {
	v                          *testvault.Server
	jwt                        *jwtSigner
	roleID, secretID, password string
	token                      string
}

const policy = `
path "secret/data/*"     { capabilities = ["create", "read", "update"] }
path "secret/metadata/*" { capabilities = ["create", "read", "update", "list", "delete"] }
path "kv1/*"             { capabilities = ["create", "read", "update", "list", "delete"] }
`

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{v: testvault.Start(t, testvault.Options{}), jwt: newJWTSigner(t),
		roleID: "role-7f3c", secretID: "planted-secret-id-41d2", password: "planted-password-9e8a"}
	v := f.v
	if err := v.Client.Sys().PutPolicy("keyward", policy); err != nil {
		t.Fatal(err)
	}
	vaultCall(t, v, "sys/mounts/kv1", map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	for path, typ := range map[string]string{"approle": "approle", "userpass": "userpass", "ldap": "userpass", "jwt": "jwt"} {
		vaultCall(t, v, "sys/auth/"+path, map[string]any{"type": typ})
	}
	vaultCall(t, v, "auth/approle/role/keyward", map[string]any{"token_policies": "keyward", "token_ttl": "1h"})
	vaultCall(t, v, "auth/approle/role/keyward/role-id", map[string]any{"role_id": f.roleID})
	vaultCall(t, v, "auth/approle/role/keyward/custom-secret-id", map[string]any{"secret_id": f.secretID})
	for _, mount := range []string{"userpass", "ldap"} {
		vaultCall(t, v, "auth/"+mount+"/users/keyward", map[string]any{"password": f.password, "token_policies": "keyward"})
	}
	vaultCall(t, v, "auth/jwt/config", map[string]any{"jwt_validation_pubkeys": []string{f.jwt.publicPEM(t)}, "bound_issuer": "keyward-test"})
	vaultCall(t, v, "auth/jwt/role/keyward", map[string]any{"role_type": "jwt", "bound_audiences": []string{"vault"},
		"user_claim": "sub", "bound_subject": "system:serviceaccount:app:keyward", "token_policies": "keyward"})
	tok := vaultCall(t, v, "auth/token/create", map[string]any{"policies": []string{"keyward"}, "ttl": "1h"})
	f.token = tok.Auth.ClientToken
	return f
}

// kube holds every credential the auth cases read, and mints
// ServiceAccount tokens signed with the fixture's JWT key.
func (f *fixture) kube(t *testing.T) *fakeKube {
	k := newKube(t, map[string]map[string]string{
		"vault-token": {"token": f.token + "\n"},
		"approle":     {"role-id": f.roleID, "secret-id": f.secretID},
		"password":    {"password": f.password},
		"jwt":         {"token": f.jwt.sign(t, "system:serviceaccount:app:keyward", []string{"vault"})},
	})
	k.mint = func(sa types.NamespacedName, aud []string) string {
		return f.jwt.sign(t, "system:serviceaccount:"+sa.Namespace+":"+sa.Name, aud)
	}
	return k
}

func (f *fixture) spec(auth *esv1.VaultAuth) *esv1.VaultProvider {
	return &esv1.VaultProvider{Server: f.v.Addr, Path: str("secret"), Auth: auth}
}

func TestEachAuthMethodLogsInOnceAndRevokesOnClose(t *testing.T) {
	f := setup(t)
	kvPut(t, f.v, "secret/data/aura/production/postgres", map[string]any{"db-uri": "postgresql://app:s3@db/aura"})
	roleRef := ref("approle", "role-id")
	tests := []struct {
		name  string
		auth  esv1.VaultAuth
		login string // audit path of the login; "" for a token given as is
	}{
		{"token", esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}, ""},
		{"appRole roleId", esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: f.roleID, SecretRef: ref("approle", "secret-id")}}, "auth/approle/login"},
		{"appRole roleRef", esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleRef: &roleRef, SecretRef: ref("approle", "secret-id")}}, "auth/approle/login"},
		{"userPass", esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{Username: "keyward", SecretRef: ref("password", "password")}}, "auth/userpass/login/keyward"},
		{"ldap", esv1.VaultAuth{Ldap: &esv1.VaultLdapAuth{Username: "keyward", SecretRef: ref("password", "password")}}, "auth/ldap/login/keyward"},
		{"jwt secretRef", esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Role: "keyward", SecretRef: &esv1.SecretKeySelector{Name: "jwt", Key: "token"}}}, "auth/jwt/login"},
		{"jwt ServiceAccount token", esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Role: "keyward",
			KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{ServiceAccountRef: esv1.ServiceAccountSelector{Name: "keyward"}}}}, "auth/jwt/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			mark := f.v.AuditMark()
			c, err := New().NewClient(ctx, store(f.spec(&tt.auth)), f.kube(t), testNS)
			if err != nil {
				t.Fatal(err)
			}
			cl := c.(*Client)
			for range 3 {
				s, err := c.Read(ctx, "aura/production/postgres", "")
				if err != nil {
					t.Fatal(err)
				}
				if v, err := s.Property("db-uri"); err != nil || string(v) != "postgresql://app:s3@db/aura" {
					t.Fatalf("db-uri = %q, %v", v, err)
				}
			}
			if err := c.Validate(ctx); err != nil {
				t.Fatal(err)
			}
			tok := cl.session.currentToken()
			c.Close()
			got := counts(t, f.v, mark)
			wantLogins, wantRevokes := 1, 1
			if tt.login == "" {
				wantLogins, wantRevokes = 0, 0
			} else if got["update "+tt.login] != 1 {
				t.Errorf("logins at %s = %d; want 1 (all: %v)", tt.login, got["update "+tt.login], got)
			}
			logins := 0
			for k, n := range got {
				if strings.HasPrefix(k, "update auth/") && strings.Contains(k, "/login") {
					logins += n
				}
			}
			if logins != wantLogins || got["read secret/data/aura/production/postgres"] != 3 || got["update auth/token/revoke-self"] != wantRevokes {
				t.Errorf("requests = %v; want %d login(s), 3 reads, %d revocation(s)", got, wantLogins, wantRevokes)
			}
			// A revoked token no longer looks up; a given one is left alone.
			_, err = f.v.Client.Auth().Token().Lookup(tok)
			if revoked := err != nil; revoked != (tt.login != "") {
				t.Errorf("after Close, token lookup error = %v; want revoked=%v", err, tt.login != "")
			}
		})
	}
}

func TestLoginFailureNamesTheMethodNotTheCredential(t *testing.T) {
	f := setup(t)
	k := newKube(t, map[string]map[string]string{"approle": {"secret-id": "planted-wrong-secret-id"}})
	_, err := New().NewClient(context.Background(), store(f.spec(&esv1.VaultAuth{
		AppRole: &esv1.VaultAppRole{RoleID: f.roleID, SecretRef: ref("approle", "secret-id")}})), k, testNS)
	if err == nil || !strings.Contains(err.Error(), "spec.provider.vault.auth.appRole") || !strings.Contains(err.Error(), "auth/approle/login") {
		t.Fatalf("error = %v", err)
	}
	leaks(t, "the login error", err.Error(), "planted-wrong-secret-id", f.roleID)
}

func TestRead(t *testing.T) {
	f := setup(t)
	v := f.v
	kvPut(t, v, "secret/data/aura/production/postgres", map[string]any{"db-uri": "postgresql://first", "port": 5432})
	kvPut(t, v, "secret/data/aura/production/postgres", map[string]any{"db-uri": "postgresql://second", "port": 5432,
		"a.b": "exact", "a": map[string]any{"b": "nested"}, "list": []any{"x", "y"}})
	vaultCall(t, v, "secret/metadata/aura/production/postgres", map[string]any{"custom_metadata": map[string]any{"owner": "team-aura"}})
	kvPut(t, v, "secret/data/gone", map[string]any{"k": "v"})
	if _, err := v.Client.Logical().Delete("secret/data/gone"); err != nil {
		t.Fatal(err)
	}
	vaultCall(t, v, "kv1/aura/production/postgres", map[string]any{"db-uri": "postgresql://v1"})

	auth := &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}
	tests := []struct {
		name     string
		spec     esv1.VaultProvider
		key      string
		version  string
		metadata bool
		property string
		want     string
		notFound bool
	}{
		{name: "v2 property", key: "aura/production/postgres", property: "db-uri", want: "postgresql://second"},
		{name: "v2 number property as JSON", key: "aura/production/postgres", property: "port", want: "5432"},
		{name: "v2 exact key with a dot wins", key: "aura/production/postgres", property: "a.b", want: "exact"},
		{name: "v2 JSON path", key: "aura/production/postgres", property: "a", want: `{"b":"nested"}`},
		{name: "v2 JSON path into an array", key: "aura/production/postgres", property: "list.1", want: "y"},
		{name: "v2 old version", key: "aura/production/postgres", version: "1", property: "db-uri", want: "postgresql://first"},
		{name: "v2 whole secret", key: "aura/production/postgres", version: "1", want: `{"db-uri":"postgresql://first","port":5432}`},
		{name: "v2 key repeating the mount", key: "secret/aura/production/postgres", property: "db-uri", want: "postgresql://second"},
		{name: "v2 without a store path", spec: esv1.VaultProvider{Path: nil}, key: "secret/aura/production/postgres", property: "db-uri", want: "postgresql://second"},
		{name: "v2 metadata", key: "aura/production/postgres", metadata: true, property: "owner", want: "team-aura"},
		{name: "v2 missing key", key: "aura/nothing", notFound: true},
		{name: "v2 missing property", key: "aura/production/postgres", property: "nope", notFound: true},
		{name: "v2 deleted version", key: "gone", notFound: true},
		{name: "v1 property", spec: esv1.VaultProvider{Path: str("kv1"), Version: "v1"}, key: "aura/production/postgres", property: "db-uri", want: "postgresql://v1"},
		{name: "v1 missing key", spec: esv1.VaultProvider{Path: str("kv1"), Version: "v1"}, key: "aura/nothing", notFound: true},
	}
	k := f.kube(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if spec.Path == nil && spec.Version == "" && !strings.Contains(tt.name, "without a store path") {
				spec.Path = str("secret")
			}
			spec.Server, spec.Auth = v.Addr, auth
			ctx := context.Background()
			c, err := New().NewClient(ctx, store(&spec), k, testNS)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var s provider.Secret
			if tt.metadata {
				s, err = c.(*Client).ReadMetadata(ctx, tt.key)
			} else {
				s, err = c.Read(ctx, tt.key, tt.version)
			}
			var got []byte
			if err == nil {
				got, err = s.Property(tt.property)
			}
			if tt.notFound {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("error = %v; want not found", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	f := setup(t)
	v := f.v
	for path, env := range map[string]string{"aura/production/postgres": "production", "aura/staging/postgres": "staging", "other/cache": "production"} {
		kvPut(t, v, "secret/data/"+path, map[string]any{"path": path})
		vaultCall(t, v, "secret/metadata/"+path, map[string]any{"custom_metadata": map[string]any{"env": env}})
		vaultCall(t, v, "kv1/"+path, map[string]any{"path": path})
	}
	auth := &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}
	tests := []struct {
		name string
		v1   bool
		find esv1.ExternalSecretFind
		want []string
		err  string
	}{
		{name: "by name", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^aura/.*/postgres$"}}, want: []string{"aura/production/postgres", "aura/staging/postgres"}},
		{name: "by tags", find: esv1.ExternalSecretFind{Tags: map[string]string{"env": "production"}}, want: []string{"aura/production/postgres", "other/cache"}},
		{name: "by path and tags", find: esv1.ExternalSecretFind{Path: str("aura"), Tags: map[string]string{"env": "production"}}, want: []string{"aura/production/postgres"}},
		{name: "by path", find: esv1.ExternalSecretFind{Path: str("aura/staging")}, want: []string{"aura/staging/postgres"}},
		{name: "v1 by name", v1: true, find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "cache"}}, want: []string{"other/cache"}},
		{name: "v1 by tags", v1: true, find: esv1.ExternalSecretFind{Tags: map[string]string{"env": "production"}}, err: "KV v1 keeps no metadata"},
	}
	k := f.kube(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := esv1.VaultProvider{Server: v.Addr, Path: str("secret"), Auth: auth}
			if tt.v1 {
				spec.Path, spec.Version = str("kv1"), "v1"
			}
			c, err := New().NewClient(context.Background(), store(&spec), k, testNS)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := c.Find(context.Background(), tt.find)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("found %d: %v; want %v", len(got), keys(got), tt.want)
			}
			for _, name := range tt.want {
				val, err := got[name].Property("path")
				if err != nil || string(val) != name {
					t.Errorf("%s: path = %q, %v", name, val, err)
				}
			}
		})
	}
}

func keys(m map[string]provider.Secret) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRevokedTokenIsReplacedAndDeniedPathIsNot(t *testing.T) {
	f := setup(t)
	kvPut(t, f.v, "secret/data/app", map[string]any{"k": "v"})
	vaultCall(t, f.v, "sys/mounts/denied", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	kvPut(t, f.v, "denied/data/app", map[string]any{"k": "v"})
	ctx := context.Background()
	c, err := New().NewClient(ctx, store(f.spec(&esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: f.roleID, SecretRef: ref("approle", "secret-id")}})), f.kube(t), testNS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := c.(*Client)

	// Revoked behind our back: the next read logs in again and succeeds.
	old := cl.session.currentToken()
	vaultCall(t, f.v, "auth/token/revoke", map[string]any{"token": old})
	mark := f.v.AuditMark()
	if _, err := c.Read(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, f.v, mark); got["update auth/approle/login"] != 1 || got["read secret/data/app"] != 2 {
		t.Errorf("after revocation: %v; want one login and the read retried once", got)
	}
	if cl.session.currentToken() == old {
		t.Error("the revoked token is still in use")
	}

	// A path the policy denies is an error, not a reason to log in again.
	mark = f.v.AuditMark()
	dc, err := New().NewClient(ctx, store(&esv1.VaultProvider{Server: f.v.Addr, Path: str("denied"),
		Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: f.roleID, SecretRef: ref("approle", "secret-id")}}}), f.kube(t), testNS)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	_, err = dc.Read(ctx, "app", "")
	if !isForbidden(err) || !strings.Contains(err.Error(), "vault: GET denied/data/app: the server answered 403 Forbidden") {
		t.Fatalf("error = %v; want 403 naming the path", err)
	}
	if got := counts(t, f.v, mark); got["update auth/approle/login"] != 1 {
		t.Errorf("a denied path caused logins: %v", got)
	}
}

func TestTokenIsRenewedThenReplacedAtItsMaxTTL(t *testing.T) {
	f := setup(t)
	// A 3s token renewable up to 7s: renewed at 2s, then replaced by a new
	// login once renewal would leave it less than a third of its TTL.
	vaultCall(t, f.v, "auth/approle/role/short", map[string]any{"token_policies": "keyward", "token_ttl": "3s", "token_max_ttl": "7s"})
	vaultCall(t, f.v, "auth/approle/role/short/role-id", map[string]any{"role_id": "short-role"})
	vaultCall(t, f.v, "auth/approle/role/short/custom-secret-id", map[string]any{"secret_id": f.secretID})
	ctx := context.Background()
	mark := f.v.AuditMark()
	c, err := New().NewClient(ctx, store(f.spec(&esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: "short-role", SecretRef: ref("approle", "secret-id")}})), f.kube(t), testNS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got map[string]int
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		got = counts(t, f.v, mark)
		return got["update auth/token/renew-self"] >= 1 && got["update auth/approle/login"] >= 2, nil
	})
	if err != nil {
		t.Fatalf("waiting for a renewal and a second login: %v (requests: %v)", err, got)
	}
}

func TestWriteCheckAndSet(t *testing.T) {
	f := setup(t)
	v := f.v
	ctx := context.Background()
	auth := &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}
	newClient := func(cas bool) *Client {
		spec := &esv1.VaultProvider{Server: v.Addr, Path: str("secret"), Auth: auth}
		if cas {
			spec.CheckAndSet = &esv1.VaultCheckAndSet{Required: true}
		}
		c, err := New().NewClient(ctx, store(spec), f.kube(t), testNS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c.(*Client)
	}
	meta := func(key string) (int64, map[string]any) {
		t.Helper()
		md, err := v.Client.Logical().Read("secret/metadata/" + key)
		if err != nil || md == nil {
			t.Fatalf("metadata of %s: %v", key, err)
		}
		n, _ := md.Data["current_version"].(json.Number).Int64()
		custom, _ := md.Data["custom_metadata"].(map[string]any)
		return n, custom
	}

	// The mount demands check-and-set: a store that does not send it fails.
	vaultCall(t, v, "secret/config", map[string]any{"cas_required": true})
	if err := newClient(false).Write(ctx, "aura/production/postgres", "db-uri", []byte("x")); err == nil || !strings.Contains(err.Error(), "check-and-set") {
		t.Fatalf("write without cas on a cas_required mount: %v", err)
	}
	c := newClient(true)
	if err := c.Write(ctx, "aura/production/postgres", "db-uri", []byte("postgresql://pushed")); err != nil {
		t.Fatal(err)
	}
	n, custom := meta("aura/production/postgres")
	if n != 1 || custom[managedByKey] != managedByValue {
		t.Fatalf("after the first push: version %d, custom metadata %v", n, custom)
	}
	// The same value again writes no new version; a second property keeps the first.
	if err := c.Write(ctx, "aura/production/postgres", "db-uri", []byte("postgresql://pushed")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, "aura/production/postgres", "user", []byte("app")); err != nil {
		t.Fatal(err)
	}
	if n, _ := meta("aura/production/postgres"); n != 2 {
		t.Errorf("version = %d; want 2 (an unchanged push writes nothing)", n)
	}
	s, err := c.Read(ctx, "aura/production/postgres", "")
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Value) != `{"db-uri":"postgresql://pushed","user":"app"}` {
		t.Errorf("value = %s", s.Value)
	}
	// A whole JSON object replaces the secret.
	if err := c.Write(ctx, "aura/production/postgres", "", []byte(`{"db-uri":"postgresql://whole"}`)); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Read(ctx, "aura/production/postgres", ""); string(s.Value) != `{"db-uri":"postgresql://whole"}` {
		t.Errorf("value after a whole write = %s", s.Value)
	}

	// A secret someone else made is never overwritten nor deleted.
	vaultCall(t, v, "secret/data/hand-made", map[string]any{"data": map[string]any{"k": "v"}, "options": map[string]any{"cas": 0}})
	if err := c.Write(ctx, "hand-made", "k", []byte("w")); err == nil || !strings.Contains(err.Error(), "not created by a PushSecret") {
		t.Errorf("overwriting a hand-made secret: %v", err)
	}
	if err := c.Delete(ctx, "hand-made", ""); err == nil {
		t.Error("deleting a hand-made secret succeeded")
	}

	// Deleting a property keeps the rest; deleting the last removes every version.
	if err := c.Write(ctx, "aura/production/postgres", "user", []byte("app")); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "aura/production/postgres", "db-uri"); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Read(ctx, "aura/production/postgres", ""); string(s.Value) != `{"user":"app"}` {
		t.Errorf("value after deleting a property = %s", s.Value)
	}
	if err := c.Delete(ctx, "aura/production/postgres", "user"); err != nil {
		t.Fatal(err)
	}
	if md, err := v.Client.Logical().Read("secret/metadata/aura/production/postgres"); err != nil || md != nil {
		t.Errorf("metadata after deleting the last property = %v, %v; want gone", md, err)
	}
	if err := c.Delete(ctx, "aura/production/postgres", ""); err != nil {
		t.Errorf("deleting what is gone: %v", err)
	}
}

func TestWriteKVv1(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, err := New().NewClient(ctx, store(&esv1.VaultProvider{Server: f.v.Addr, Path: str("kv1"), Version: "v1",
		Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}}), f.kube(t), testNS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.(provider.Writer)
	if err := w.Write(ctx, "app", "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, "app", "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Read(ctx, "app", ""); err != nil || string(s.Value) != `{"a":"1","b":"2"}` {
		t.Fatalf("value = %s, %v", s.Value, err)
	}
	if err := w.Delete(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, "app", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// A static token's owner manages its life: Close leaves it valid.
func TestStaticTokenIsNeitherRenewedNorRevoked(t *testing.T) {
	f := setup(t)
	c, err := New().NewClient(context.Background(), store(f.spec(&esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}})), f.kube(t), testNS)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := f.v.Client.Auth().Token().Lookup(f.token); err != nil {
		t.Fatalf("the given token was revoked: %v", err)
	}
}
