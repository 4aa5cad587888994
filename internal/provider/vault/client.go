package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"strings"

	"github.com/hashicorp/vault/api"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// managedBy marks KV v2 secrets created by PushSecret (ESO's marker, so
// secrets pushed by either tool stay writable by both). A secret without it
// was made by someone else and is never overwritten or deleted.
const (
	managedByKey   = "managed-by"
	managedByValue = "external-secrets"
)

// Client reads and writes one store's KV mount with one Vault session.
type Client struct {
	kv      kvPaths
	cas     bool
	session *session
	creds   []provider.Ref
}

var (
	_ provider.Client         = (*Client)(nil)
	_ provider.Writer         = (*Client)(nil)
	_ provider.CredentialRefs = (*Client)(nil)
	_ provider.MetadataReader = (*Client)(nil)
)

// Credentials implements provider.CredentialRefs.
func (c *Client) Credentials() []provider.Ref { return c.creds }

// Close implements provider.Client: the token it logged in for is revoked.
func (c *Client) Close() { c.session.close() }

// Validate implements provider.Client: Vault must accept the token.
func (c *Client) Validate(ctx context.Context) error {
	err := c.session.do(ctx, func(a *api.Client) error {
		_, err := a.Auth().Token().LookupSelfWithContext(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("looking up the store's token: %w", vaultError(err))
	}
	return nil
}

// Read implements provider.Client. The value is the secret's data as a
// JSON object, so a property is an exact key, else a path into it.
func (c *Client) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	path, err := c.kv.data(key)
	if err != nil {
		return provider.Secret{}, err
	}
	var query map[string][]string
	if version != "" {
		if !c.kv.v2 {
			return provider.Secret{}, fmt.Errorf("key %q: version %q: KV v1 keeps no versions", key, version)
		}
		query = map[string][]string{"version": {version}}
	}
	data, err := c.readData(ctx, path, query)
	if err != nil {
		return provider.Secret{}, err
	}
	if data == nil {
		return provider.Secret{}, fmt.Errorf("key %q (%s): %w", key, path, provider.ErrNotFound)
	}
	return jsonSecret(data)
}

// ReadMetadata returns the custom metadata of a KV v2 secret (ESO's
// metadataPolicy Fetch) as a JSON object of strings.
func (c *Client) ReadMetadata(ctx context.Context, key string) (provider.Secret, error) {
	path, err := c.kv.metadata(key)
	if err != nil {
		return provider.Secret{}, fmt.Errorf("metadataPolicy Fetch: %w", err)
	}
	md, err := c.read(ctx, path, nil)
	if err != nil {
		return provider.Secret{}, err
	}
	if md == nil {
		return provider.Secret{}, fmt.Errorf("key %q (%s): %w", key, path, provider.ErrNotFound)
	}
	custom, _ := md.Data["custom_metadata"].(map[string]any)
	if custom == nil {
		custom = map[string]any{}
	}
	return jsonSecret(custom)
}

func jsonSecret(data map[string]any) (provider.Secret, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return provider.Secret{}, fmt.Errorf("encoding the secret's data: %w", err)
	}
	return provider.Secret{Value: b}, nil
}

// read GETs path through the session; nil when Vault has nothing there.
func (c *Client) read(ctx context.Context, path string, query map[string][]string) (*api.Secret, error) {
	var sec *api.Secret
	err := c.session.do(ctx, func(a *api.Client) error {
		var err error
		sec, err = a.Logical().ReadWithDataWithContext(ctx, path, query)
		return err
	})
	if err != nil {
		return nil, vaultError(err)
	}
	return sec, nil
}

// readData returns the secret's data at path; nil when it does not exist
// or (KV v2) its version was deleted or destroyed.
func (c *Client) readData(ctx context.Context, path string, query map[string][]string) (map[string]any, error) {
	sec, err := c.read(ctx, path, query)
	if err != nil || sec == nil {
		return nil, err
	}
	if !c.kv.v2 {
		return sec.Data, nil
	}
	data, _ := sec.Data["data"].(map[string]any)
	return data, nil
}

func (c *Client) write(ctx context.Context, path string, body map[string]any) error {
	return vaultError(c.session.do(ctx, func(a *api.Client) error {
		_, err := a.Logical().WriteWithContext(ctx, path, body)
		return err
	}))
}

func (c *Client) delete(ctx context.Context, path string) error {
	return vaultError(c.session.do(ctx, func(a *api.Client) error {
		_, err := a.Logical().DeleteWithContext(ctx, path)
		return err
	}))
}

// Find implements provider.Client: every secret under find.path whose path
// (relative to the mount) matches find.name, and whose custom metadata
// holds every find.tags entry (KV v2). Keys are those paths.
func (c *Client) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	if len(find.Tags) > 0 && !c.kv.v2 {
		return nil, errors.New("find.tags: KV v1 keeps no metadata to match tags against; use KV v2")
	}
	prefix := ""
	if find.Path != nil {
		prefix = strings.Trim(*find.Path, "/")
	}
	names, err := c.list(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]provider.Secret{}
	for _, name := range names {
		if re != nil && !re.MatchString(name) {
			continue
		}
		// Paths are built from the mount directly: a listed name is never
		// taken for one that repeats the mount.
		if len(find.Tags) > 0 {
			md, err := c.read(ctx, c.kv.mount+"/metadata/"+name, nil)
			if err != nil {
				return nil, err
			}
			if md == nil || !hasTags(md.Data["custom_metadata"], find.Tags) {
				continue
			}
		}
		path := c.kv.mount + "/" + name
		if c.kv.v2 {
			path = c.kv.mount + "/data/" + name
		}
		data, err := c.readData(ctx, path, nil)
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue // listed, but its current version is deleted
		}
		if out[name], err = jsonSecret(data); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasTags(custom any, tags map[string]string) bool {
	m, _ := custom.(map[string]any)
	for k, v := range tags {
		if s, ok := m[k].(string); !ok || s != v {
			return false
		}
	}
	return true
}

// list returns every secret path under prefix, relative to the mount.
func (c *Client) list(ctx context.Context, prefix string) ([]string, error) {
	path, err := c.kv.list(prefix)
	if err != nil {
		return nil, err
	}
	var sec *api.Secret
	err = c.session.do(ctx, func(a *api.Client) error {
		var err error
		sec, err = a.Logical().ListWithContext(ctx, path)
		return err
	})
	if err != nil {
		return nil, vaultError(err)
	}
	if sec == nil {
		return nil, nil
	}
	keys, _ := sec.Data["keys"].([]any)
	var out []string
	for _, k := range keys {
		s, ok := k.(string)
		if !ok || s == "" {
			continue
		}
		full := s
		if prefix != "" {
			full = prefix + "/" + s
		}
		if strings.HasSuffix(s, "/") {
			sub, err := c.list(ctx, strings.TrimSuffix(full, "/"))
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, full)
	}
	return out, nil
}

// Write implements provider.Writer. On KV v2 a new secret is marked as
// pushed in its custom metadata, an existing one must carry that mark, and
// with checkAndSet.required the write names the version it replaces, so a
// concurrent change makes it fail instead of being lost. An unchanged
// value writes nothing, so pushes do not pile up versions.
func (c *Client) Write(ctx context.Context, key, property string, value []byte) error {
	var whole map[string]any
	if property == "" {
		if err := json.Unmarshal(value, &whole); err != nil || whole == nil {
			return errors.New("without a property the pushed value must be a JSON object")
		}
	}
	path, err := c.kv.data(key)
	if err != nil {
		return err
	}
	merge := func(cur map[string]any) map[string]any {
		if property == "" {
			return whole
		}
		next := maps.Clone(cur)
		if next == nil {
			next = map[string]any{}
		}
		next[property] = string(value)
		return next
	}
	if !c.kv.v2 {
		cur, err := c.readData(ctx, path, nil)
		if err != nil {
			return err
		}
		next := merge(cur)
		if cur != nil && reflect.DeepEqual(cur, next) {
			return nil
		}
		return c.write(ctx, path, next)
	}

	st, err := c.state(ctx, key)
	if err != nil {
		return err
	}
	var cur map[string]any
	if st.version > 0 {
		if cur, err = c.readData(ctx, path, nil); err != nil {
			return err
		}
	}
	next := merge(cur)
	if cur != nil && reflect.DeepEqual(cur, next) {
		return nil
	}
	if !st.exists {
		err := c.write(ctx, st.metadataPath, map[string]any{"custom_metadata": map[string]any{managedByKey: managedByValue}})
		if err != nil {
			return fmt.Errorf("marking key %q as pushed: %w", key, err)
		}
	}
	body := map[string]any{"data": next}
	if c.cas {
		body["options"] = map[string]any{"cas": st.version}
	}
	return c.write(ctx, path, body)
}

// Delete implements provider.Writer: a property is removed from the
// secret; the secret itself (every KV v2 version) goes when no property is
// named or its last one is removed.
func (c *Client) Delete(ctx context.Context, key, property string) error {
	path, err := c.kv.data(key)
	if err != nil {
		return err
	}
	var st kvState
	whole := c.delete
	if c.kv.v2 {
		if st, err = c.state(ctx, key); err != nil || !st.exists {
			return err
		}
		whole = func(ctx context.Context, _ string) error { return c.delete(ctx, st.metadataPath) }
	}
	if property == "" {
		return whole(ctx, path)
	}
	cur, err := c.readData(ctx, path, nil)
	if err != nil || cur == nil {
		return err
	}
	if _, ok := cur[property]; !ok {
		return nil
	}
	next := maps.Clone(cur)
	delete(next, property)
	if len(next) == 0 {
		return whole(ctx, path)
	}
	if !c.kv.v2 {
		return c.write(ctx, path, next)
	}
	body := map[string]any{"data": next}
	if c.cas {
		body["options"] = map[string]any{"cas": st.version}
	}
	return c.write(ctx, path, body)
}

type kvState struct {
	metadataPath string
	exists       bool
	version      int64
}

// state reads a KV v2 secret's metadata and refuses a secret that
// PushSecret did not create.
func (c *Client) state(ctx context.Context, key string) (kvState, error) {
	mp, err := c.kv.metadata(key)
	if err != nil {
		return kvState{}, err
	}
	st := kvState{metadataPath: mp}
	md, err := c.read(ctx, mp, nil)
	if err != nil || md == nil {
		return st, err
	}
	st.exists = true
	custom, _ := md.Data["custom_metadata"].(map[string]any)
	if by, _ := custom[managedByKey].(string); by != managedByValue {
		return st, fmt.Errorf("key %q exists in Vault and was not created by a PushSecret (its custom_metadata has no %s=%s); refusing to change it", key, managedByKey, managedByValue)
	}
	if n, ok := md.Data["current_version"].(json.Number); ok {
		st.version, _ = n.Int64()
	}
	return st, nil
}

// vaultError turns an error from the Vault API into one that holds the
// method, path and status only. Vault's error list and a raw body are left
// out: the server is one the store's author chose, and its reply can echo
// anything. The API error stays reachable with errors.As.
func vaultError(err error) error {
	var done *provider.RemoteError
	if err == nil || errors.As(err, &done) {
		return err
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		path := re.URL
		if u, perr := url.Parse(re.URL); perr == nil {
			path = strings.TrimPrefix(u.Path, "/v1/")
		}
		return provider.RemoteCode("vault", re.HTTPMethod+" "+path, re.StatusCode, knownVaultError(re.Errors), nil, err)
	}
	// No usable reply: a transport failure or a body that did not parse,
	// whose texts can quote the reply.
	var ue *url.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &ue) {
		// The URL is the store's server and our path, not the reply's.
		op := "calling the server"
		if u, perr := url.Parse(ue.URL); perr == nil {
			op = strings.ToUpper(ue.Op) + " " + strings.TrimPrefix(u.Path, "/v1/")
		}
		return provider.Remote("vault", op, 0, err)
	}
	if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return provider.Remote("vault", "calling the server", 0, err)
	}
	return err
}

// vaultErrors are Vault messages worth telling, each as a fixed phrase:
// matching picks the phrase, nothing of the reply is copied.
var vaultErrors = []struct{ match, phrase string }{
	{"check-and-set parameter", "the mount requires check-and-set; set checkAndSet.required on the store"},
	{"permission denied", "permission denied"},
	{"invalid token", "invalid token"},
	{"missing client token", "missing client token"},
}

func knownVaultError(msgs []string) string {
	for _, m := range msgs {
		for _, v := range vaultErrors {
			if strings.Contains(m, v.match) {
				return v.phrase
			}
		}
	}
	return ""
}
