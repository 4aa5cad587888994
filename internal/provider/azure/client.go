package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/provider/push"
)

// Client reads and writes one vault's secrets.
type Client struct {
	vault string
	cred  azcore.TokenCredential
	kv    *azsecrets.Client
	creds []provider.Ref
}

// Credentials implements provider.CredentialRefs.
func (c *Client) Credentials() []provider.Ref { return c.creds }

// secretName accepts "name" or ESO's "secret/name"; keys and certificates
// ("key/", "cert/") are not served yet.
func secretName(key string) (string, error) {
	switch {
	case strings.HasPrefix(key, "secret/"):
		return strings.TrimPrefix(key, "secret/"), nil
	case strings.HasPrefix(key, "key/"), strings.HasPrefix(key, "cert/"):
		return "", fmt.Errorf("key %q: Keyward reads Key Vault secrets only, not keys or certificates", key)
	}
	return key, nil
}

// kvError maps Key Vault replies to their status only (404 is
// provider.ErrNotFound): vaultUrl may point at any server, whose reply body
// and error code can echo anything.
func kvError(op, name string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return provider.Remote("azure", fmt.Sprintf("%s %q", op, name), re.StatusCode, err)
	}
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) {
		// No reply, or one that did not parse: its text may quote the body.
		return provider.Remote("azure", fmt.Sprintf("%s %q", op, name), 0, err)
	}
	// Token failures come from the credential: keep their first line only.
	return fmt.Errorf("%s %q: %w", op, name, authError(err))
}

// Read implements provider.Client; version is a Key Vault version ID,
// empty for the current one.
func (c *Client) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	name, err := secretName(key)
	if err != nil {
		return provider.Secret{}, err
	}
	resp, err := c.kv.GetSecret(ctx, name, version, nil)
	if err != nil {
		return provider.Secret{}, kvError("GetSecret", name, err)
	}
	if resp.Value == nil {
		return provider.Secret{Value: []byte{}}, nil
	}
	return provider.Secret{Value: []byte(*resp.Value)}, nil
}

// ReadMetadata implements provider.MetadataReader: the secret's tags.
func (c *Client) ReadMetadata(ctx context.Context, key string) (provider.Secret, error) {
	name, err := secretName(key)
	if err != nil {
		return provider.Secret{}, err
	}
	resp, err := c.kv.GetSecret(ctx, name, "", nil)
	if err != nil {
		return provider.Secret{}, kvError("GetSecret", name, err)
	}
	b, err := json.Marshal(tags(resp.Tags))
	return provider.Secret{Value: b}, err
}

func tags(t map[string]*string) map[string]string {
	m := make(map[string]string, len(t))
	for k, v := range t {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

// Find implements provider.Client: the secret list, page by page (it
// carries tags, so both filters apply before any value is read), then
// the current value of each enabled match.
func (c *Client) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	if find.Path != nil && *find.Path != "" {
		return nil, errors.New("find.path: Key Vault has no paths; use name or tags")
	}
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	var names []string
	pager := c.kv.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, kvError("ListSecretProperties", c.vault, err)
		}
		for _, p := range page.Value {
			if p.ID == nil || (p.Attributes != nil && p.Attributes.Enabled != nil && !*p.Attributes.Enabled) {
				continue
			}
			name := p.ID.Name()
			if re != nil && !re.MatchString(name) {
				continue
			}
			if !tagsMatch(tags(p.Tags), find.Tags) {
				continue
			}
			names = append(names, name)
		}
	}
	out := make(map[string]provider.Secret, len(names))
	for _, name := range names {
		v, err := c.Read(ctx, name, "")
		if errors.Is(err, provider.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

func tagsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Validate implements provider.Client: Entra ID must issue a token.
func (c *Client) Validate(ctx context.Context) error {
	if _, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}); err != nil {
		return fmt.Errorf("%s: obtaining a token: %w", field, authError(err))
	}
	return nil
}

// authError keeps an Entra ID failure to its error code: azidentity's full
// text includes the whole token response, which is not for statuses.
func authError(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("HTTP %d %s", re.StatusCode, re.ErrorCode)
	}
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

// Close implements provider.Client.
func (c *Client) Close() {}

// Write implements provider.Writer: SetSecret creates or adds a version,
// tagged with ESO's managed-by; a secret without that tag is not touched,
// nor is an unchanged value written again.
func (c *Client) Write(ctx context.Context, key, property string, value []byte) error {
	name, err := secretName(key)
	if err != nil {
		return err
	}
	cur, err := c.kv.GetSecret(ctx, name, "", nil)
	exists := err == nil
	if err != nil {
		if err := kvError("GetSecret", name, err); !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	var current []byte
	if exists {
		if !push.Managed(tags(cur.Tags)) {
			return fmt.Errorf("secret %q exists and was not created by PushSecret (no tag %s=%s); refusing to overwrite it", name, push.ManagedByKey, push.ManagedByValue)
		}
		if cur.Value != nil {
			current = []byte(*cur.Value)
		}
	}
	next, err := push.Set(current, exists, property, value)
	if err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	if exists && bytes.Equal(current, next) {
		return nil
	}
	v, managed := string(next), push.ManagedByValue
	_, err = c.kv.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: &v, Tags: map[string]*string{push.ManagedByKey: &managed}}, nil)
	if err != nil {
		return kvError("SetSecret", name, err)
	}
	return nil
}

// Delete implements provider.Writer: a property is removed with a new
// version; a whole secret is deleted (soft-deleted, as the vault's
// retention says). Secrets PushSecret did not create stay.
func (c *Client) Delete(ctx context.Context, key, property string) error {
	name, err := secretName(key)
	if err != nil {
		return err
	}
	cur, err := c.kv.GetSecret(ctx, name, "", nil)
	if err != nil {
		if err := kvError("GetSecret", name, err); !errors.Is(err, provider.ErrNotFound) {
			return err
		}
		return nil
	}
	if !push.Managed(tags(cur.Tags)) {
		return fmt.Errorf("secret %q was not created by PushSecret (no tag %s=%s); refusing to delete it", name, push.ManagedByKey, push.ManagedByValue)
	}
	if property != "" && cur.Value != nil {
		next, empty, changed, err := push.Remove([]byte(*cur.Value), property)
		if err != nil || !changed {
			return err
		}
		if !empty {
			v, managed := string(next), push.ManagedByValue
			if _, err := c.kv.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: &v, Tags: map[string]*string{push.ManagedByKey: &managed}}, nil); err != nil {
				return kvError("SetSecret", name, err)
			}
			return nil
		}
	}
	if _, err := c.kv.DeleteSecret(ctx, name, nil); err != nil {
		if err := kvError("DeleteSecret", name, err); !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	return nil
}

// countThrottles runs once per attempt (inside azcore's retry loop) and
// reports 429 replies to the provider Manager's metrics.
type countThrottles struct{}

func (countThrottles) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		provider.StoreThrottled(req.Raw().Context())
	}
	return resp, err
}
