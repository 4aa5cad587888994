// Package fake is the store provider that serves the fixed values written
// in the store itself (spec.provider.fake.data), for tests and demos. Values
// pushed to it are kept in memory for the life of its client.
package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// Provider builds clients for spec.provider.fake.
type Provider struct{}

// New returns the provider.
func New() *Provider { return &Provider{} }

// Name implements provider.Provider.
func (*Provider) Name() string { return "fake" }

// Referent implements provider.Provider: the fake store has no credentials.
func (*Provider) Referent(*esv1.SecretStoreSpec) bool { return false }

// AmbientIdentity implements provider.Provider: the fake store acts as no one.
func (*Provider) AmbientIdentity(*esv1.SecretStoreSpec) (string, string) { return "", "" }

// NewClient implements provider.Provider.
func (*Provider) NewClient(_ context.Context, store esv1.GenericStore, _ provider.Kube, _ string) (provider.Client, error) {
	spec := store.GetSpec().Provider.Fake
	if spec == nil {
		return nil, errors.New("spec.provider.fake is not set")
	}
	c := &Client{values: map[entry]string{}, latest: map[string]string{}}
	if spec.ValidationResult != nil {
		c.validation = *spec.ValidationResult
	}
	for _, d := range spec.Data {
		c.values[entry{d.Key, d.Version}] = d.Value
		c.latest[d.Key] = d.Value
	}
	return c, nil
}

type entry struct{ key, version string }

// Client serves one fake store.
type Client struct {
	validation string
	mu         sync.RWMutex
	values     map[entry]string
	// latest is the last value listed for each key, served when no version is asked for.
	latest map[string]string
}

// Read implements provider.Client.
func (c *Client) Read(_ context.Context, key, version string) (provider.Secret, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.values[entry{key, version}]; ok {
		return provider.Secret{Value: []byte(v)}, nil
	}
	if v, ok := c.latest[key]; ok && version == "" {
		return provider.Secret{Value: []byte(v)}, nil
	}
	return provider.Secret{}, fmt.Errorf("key %q version %q: %w", key, version, provider.ErrNotFound)
}

// Find implements provider.Client: by name regexp or path prefix (no tags).
func (c *Client) Find(_ context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	if len(find.Tags) > 0 {
		return nil, errors.New("find.tags: the fake provider has no tags")
	}
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := map[string]provider.Secret{}
	for k, v := range c.latest {
		if find.Path != nil && !strings.HasPrefix(k, *find.Path) {
			continue
		}
		if re != nil && !re.MatchString(k) {
			continue
		}
		out[k] = provider.Secret{Value: []byte(v)}
	}
	return out, nil
}

// Validate implements provider.Client, as spec.provider.fake.validationResult says.
func (c *Client) Validate(context.Context) error {
	switch c.validation {
	case "", "Ready":
		return nil
	case "Unknown":
		return provider.ErrValidationUnknown
	default:
		return errors.New("spec.provider.fake.validationResult asks validation to fail")
	}
}

// Close implements provider.Client.
func (c *Client) Close() {}

// Write implements provider.Writer: values live in this client's memory.
func (c *Client) Write(_ context.Context, key, property string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if property == "" {
		c.latest[key] = string(value)
		c.values[entry{key, ""}] = string(value)
		return nil
	}
	doc := map[string]any{}
	if cur, ok := c.latest[key]; ok {
		if err := json.Unmarshal([]byte(cur), &doc); err != nil {
			return fmt.Errorf("key %q holds a value that is not a JSON object, so property %q cannot be set", key, property)
		}
	}
	doc[property] = string(value)
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	c.latest[key] = string(b)
	c.values[entry{key, ""}] = string(b)
	return nil
}

// Delete implements provider.Writer.
func (c *Client) Delete(_ context.Context, key, property string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if property == "" {
		delete(c.latest, key)
		for e := range c.values {
			if e.key == key {
				delete(c.values, e)
			}
		}
		return nil
	}
	doc := map[string]any{}
	if err := json.Unmarshal([]byte(c.latest[key]), &doc); err != nil {
		return nil
	}
	delete(doc, property)
	b, _ := json.Marshal(doc)
	c.latest[key] = string(b)
	c.values[entry{key, ""}] = string(b)
	return nil
}
