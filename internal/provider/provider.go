// Package provider is the contract between Keyward and the secret stores:
// a Provider builds a Client for a store, the optional interfaces a Client
// may add (Writer, MetadataReader, Expiring, CredentialRefs), the Secret it
// returns, the errors callers branch on, and the helpers stores use to read
// their credentials by ESO's namespace rules. Stores import this package
// only; the runtime that caches, coalesces and limits calls to them is
// internal/storeruntime.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// ErrNotFound is returned (wrapped) when a remote secret or property does not exist.
var ErrNotFound = errors.New("not found in the store")

// ErrValidationUnknown is returned by Validate when a store cannot tell
// whether its configuration works; the store still counts as ready.
var ErrValidationUnknown = errors.New("store validation result unknown")

// Provider builds clients for one kind of store (the key under spec.provider).
type Provider interface {
	// Name is the provider's key under spec.provider, for example "kubernetes".
	Name() string
	// NewClient builds a client for store. Credentials named without a
	// namespace are read in namespace (the store's own namespace, or for a
	// ClusterSecretStore the namespace of the object using it). kube reads
	// credential Secrets, ConfigMaps and ServiceAccount tokens.
	NewClient(ctx context.Context, store esv1.GenericStore, kube Kube, namespace string) (Client, error)
	// Referent reports whether a ClusterSecretStore's credentials depend on
	// the namespace using it, so that clients (and their cached values) must
	// not be shared across namespaces.
	Referent(spec *esv1.SecretStoreSpec) bool
	// AmbientIdentity returns the field of spec whose absence makes the
	// store act with the controller's own identity (its ServiceAccount
	// token, a cloud default credential chain), and what the store should
	// set there instead; field is "" when the store names its own
	// credentials. It is part of the contract, not an optional extra, so
	// that no provider (or wrapper of one) can skip the Manager's rule that
	// a SecretStore, which any namespace user may create, never does.
	AmbientIdentity(spec *esv1.SecretStoreSpec) (field, instead string)
}

// Kube is what providers need from the cluster: direct reads (never a
// cache of every Secret) and token requests for ServiceAccounts.
type Kube interface {
	client.Reader
	// ServiceAccountToken requests a token for a ServiceAccount.
	ServiceAccountToken(ctx context.Context, sa types.NamespacedName, audiences []string, expiry time.Duration) (token string, expires time.Time, err error)
}

// Client reads one store. Its methods are called concurrently.
type Client interface {
	// Read fetches the remote secret key at version ("" = current).
	Read(ctx context.Context, key, version string) (Secret, error)
	// Find returns the remote secrets matching find, by key.
	Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]Secret, error)
	// Validate checks that the store can be used.
	Validate(ctx context.Context) error
	// Close releases the client's resources.
	Close()
}

// Writer is implemented by clients of stores that PushSecret can write to.
type Writer interface {
	// Write sets property of the remote secret key to value; with no
	// property, value (a JSON object) becomes the whole secret.
	Write(ctx context.Context, key, property string, value []byte) error
	// Delete removes property of key, or the whole key when property is "".
	Delete(ctx context.Context, key, property string) error
}

// MetadataReader is implemented by clients of stores that keep metadata
// (tags, labels) beside a secret's value, for remoteRef.metadataPolicy Fetch.
type MetadataReader interface {
	// ReadMetadata returns the metadata of the remote secret key as a JSON
	// object in Value, so that a property selects one entry.
	ReadMetadata(ctx context.Context, key string) (Secret, error)
}

// Expiring is implemented by clients holding credentials that expire; the
// Manager rebuilds such a client shortly before then.
type Expiring interface {
	ExpiresAt() time.Time
}

// CredentialRefs is implemented by clients built from Secrets or
// ConfigMaps; the Manager rebuilds the client when one of them changes.
type CredentialRefs interface {
	Credentials() []Ref
}

// Ref names a Secret or ConfigMap a client was built from.
type Ref struct {
	Kind      string // Secret or ConfigMap
	Namespace string
	Name      string
}

// Secret is one remote secret: either structured (Data, as a Kubernetes
// Secret) or a single value (Value, often a JSON document).
type Secret struct {
	Data  map[string][]byte
	Value []byte
}

// Property returns one property of the secret: a key of Data, or for a
// Value a top-level JSON key or a dotted path into it. With no property it
// returns the whole value (Data as a JSON object of strings).
func (s Secret) Property(property string) ([]byte, error) {
	if s.Data != nil {
		if property == "" {
			return jsonOfData(s.Data)
		}
		v, ok := s.Data[property]
		if !ok {
			return nil, fmt.Errorf("property %q: %w", property, ErrNotFound)
		}
		return v, nil
	}
	if property == "" {
		return s.Value, nil
	}
	var doc any
	if err := json.Unmarshal(s.Value, &doc); err != nil {
		return nil, fmt.Errorf("property %q: the value is not JSON", property)
	}
	v, ok := lookupPath(doc, property)
	if !ok {
		return nil, fmt.Errorf("property %q: %w", property, ErrNotFound)
	}
	return scalarBytes(v)
}

// Map returns the secret as key/value pairs: Data itself, or the top-level
// keys of a JSON object Value (non-string values as JSON text).
func (s Secret) Map() (map[string][]byte, error) {
	if s.Data != nil {
		out := make(map[string][]byte, len(s.Data))
		for k, v := range s.Data {
			out[k] = v
		}
		return out, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(s.Value, &obj); err != nil {
		return nil, errors.New("the value is not a JSON object, so it cannot be extracted into keys")
	}
	out := make(map[string][]byte, len(obj))
	for k, v := range obj {
		b, err := scalarBytes(v)
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	return out, nil
}

func jsonOfData(data map[string][]byte) ([]byte, error) {
	m := make(map[string]string, len(data))
	for k, v := range data {
		m[k] = string(v)
	}
	return json.Marshal(m)
}

// scalarBytes renders a decoded JSON value: strings as themselves, the rest as JSON.
func scalarBytes(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return json.Marshal(v)
}

// lookupPath resolves property in doc: an exact top-level key wins, else a
// dotted path whose numeric segments index arrays (the common subset of the
// gjson paths ESO accepts).
func lookupPath(doc any, property string) (any, bool) {
	if m, ok := doc.(map[string]any); ok {
		if v, ok := m[property]; ok {
			return v, true
		}
	}
	cur := doc
	for _, seg := range strings.Split(property, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// MatchName compiles find.name.regexp (nil when unset).
func MatchName(find esv1.ExternalSecretFind) (*regexp.Regexp, error) {
	if find.Name == nil || find.Name.RegExp == "" {
		return nil, nil
	}
	re, err := regexp.Compile(find.Name.RegExp)
	if err != nil {
		return nil, fmt.Errorf("find.name.regexp: %w", err)
	}
	return re, nil
}

// Configured returns the provider configured in spec, by name, or an error
// naming what is wrong: no provider, several, or one Keyward does not serve.
func Configured(spec *esv1.SecretStoreSpec, served map[string]Provider) (Provider, error) {
	names := spec.Provider.Names()
	switch {
	case len(names) == 0:
		return nil, errors.New("spec.provider: no provider is configured")
	case len(names) > 1:
		return nil, fmt.Errorf("spec.provider: exactly one provider must be configured, found %s", strings.Join(names, ", "))
	}
	p, ok := served[names[0]]
	if !ok {
		known := make([]string, 0, len(served))
		for n := range served {
			known = append(known, n)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("spec.provider.%s: this provider is not supported by this controller (served: %s)", names[0], strings.Join(known, ", "))
	}
	return p, nil
}
