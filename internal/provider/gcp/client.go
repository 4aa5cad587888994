package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"golang.org/x/oauth2"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/provider/push"
)

// Client reads and writes one project's (or location's) secrets.
type Client struct {
	sm                 *secretmanager.Client
	project, location  string
	fetchLatestEnabled bool
	tokens             oauth2.TokenSource
	creds              []provider.Ref
}

// Credentials implements provider.CredentialRefs.
func (c *Client) Credentials() []provider.Ref { return c.creds }

func (c *Client) parent() string {
	if c.location != "" {
		return "projects/" + c.project + "/locations/" + c.location
	}
	return "projects/" + c.project
}

// secretName accepts a secret ID or a full resource name.
func (c *Client) secretName(key string) string {
	if strings.HasPrefix(key, "projects/") {
		return key
	}
	return c.parent() + "/secrets/" + key
}

// errVersionDisabled marks a version that exists but is disabled or destroyed.
var errVersionDisabled = errors.New("the version is not enabled")

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// gcpError tells a failed call by its gRPC code only (NOT_FOUND is
// provider.ErrNotFound): the endpoint can be chosen through the store's
// location or key, and a status message can echo anything.
func gcpError(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); !ok {
		return provider.Remote("gcp", op+" "+name, 0, err)
	}
	code := status.Code(err)
	switch code {
	case codes.OK:
		return nil
	case codes.FailedPrecondition:
		return provider.RemoteCode("gcp", op+" "+name, 0, code.String(), errVersionDisabled, err)
	}
	return provider.RemoteCode("gcp", op+" "+name, 0, code.String(), grpcKind(code), err)
}

func grpcKind(c codes.Code) error {
	switch c {
	case codes.NotFound:
		return provider.ErrNotFound
	case codes.PermissionDenied, codes.Unauthenticated:
		return provider.ErrDenied
	case codes.ResourceExhausted:
		return provider.ErrThrottled
	}
	return nil
}

// Read implements provider.Client; version is a version number, "latest"
// or empty (latest). With secretVersionSelectionPolicy LatestOrFetch, a
// disabled latest version falls back to the newest enabled one.
func (c *Client) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	if version == "" {
		version = "latest"
	}
	name := c.secretName(key) + "/versions/" + version
	resp, err := c.sm.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	if status.Code(err) == codes.FailedPrecondition && version == "latest" && c.fetchLatestEnabled {
		return c.newestEnabled(ctx, key)
	}
	if err != nil {
		return provider.Secret{}, gcpError("AccessSecretVersion", name, err)
	}
	return provider.Secret{Value: resp.GetPayload().GetData()}, nil
}

func (c *Client) newestEnabled(ctx context.Context, key string) (provider.Secret, error) {
	it := c.sm.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: c.secretName(key), Filter: "state:ENABLED"})
	for {
		v, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return provider.Secret{}, fmt.Errorf("%s has no enabled version: %w", c.secretName(key), provider.ErrNotFound)
		}
		if err != nil {
			return provider.Secret{}, gcpError("ListSecretVersions", c.secretName(key), err)
		}
		if v.GetState() == secretmanagerpb.SecretVersion_ENABLED {
			resp, err := c.sm.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: v.GetName()})
			if err != nil {
				return provider.Secret{}, gcpError("AccessSecretVersion", v.GetName(), err)
			}
			return provider.Secret{Value: resp.GetPayload().GetData()}, nil
		}
	}
}

// ReadMetadata implements provider.MetadataReader: the secret's
// annotations and labels, as ESO presents them.
func (c *Client) ReadMetadata(ctx context.Context, key string) (provider.Secret, error) {
	s, err := c.sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: c.secretName(key)})
	if err != nil {
		return provider.Secret{}, gcpError("GetSecret", c.secretName(key), err)
	}
	b, err := json.Marshal(map[string]map[string]string{"annotations": nonNil(s.GetAnnotations()), "labels": nonNil(s.GetLabels())})
	return provider.Secret{Value: b}, err
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Find implements provider.Client: ListSecrets page by page, tags as a
// server-side label filter, the name regexp on the secret ID; then the
// latest version of each match. Secrets without an enabled version are
// left out.
func (c *Client) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	if find.Path != nil && *find.Path != "" {
		return nil, errors.New("find.path: Secret Manager has no paths; use name or tags")
	}
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(find.Tags))
	for k := range find.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	terms := make([]string, 0, len(keys))
	for _, k := range keys {
		terms = append(terms, fmt.Sprintf("labels.%s=%s", k, find.Tags[k]))
	}
	it := c.sm.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: c.parent(), Filter: strings.Join(terms, " AND ")})
	out := map[string]provider.Secret{}
	for {
		s, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, gcpError("ListSecrets", c.parent(), err)
		}
		id := s.GetName()[strings.LastIndex(s.GetName(), "/")+1:]
		if re != nil && !re.MatchString(id) {
			continue
		}
		if !labelsMatch(s.GetLabels(), find.Tags) {
			continue
		}
		v, err := c.Read(ctx, id, "")
		if errors.Is(err, provider.ErrNotFound) || errors.Is(err, errVersionDisabled) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, nil
}

// Validate implements provider.Client: an OAuth token must be obtainable.
// Without explicit credentials there is nothing to check before a call.
func (c *Client) Validate(context.Context) error {
	if c.tokens == nil {
		return provider.ErrValidationUnknown
	}
	if _, err := c.tokens.Token(); err != nil {
		// The token endpoint comes from the key JSON, which the store's
		// author supplies: its reply body stays out.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return fmt.Errorf("%s: %w", field, provider.Remote("gcp", "obtaining an access token", re.Response.StatusCode, err))
		}
		return fmt.Errorf("%s: %w", field, provider.Remote("gcp", "obtaining an access token", 0, err))
	}
	return nil
}

// Close implements provider.Client.
func (c *Client) Close() { _ = c.sm.Close() }

// Write implements provider.Writer: a missing secret is created with ESO's
// managed-by label (automatic replication, or in the store's location);
// an existing one gets a new version only if it carries that label and
// the value changes.
func (c *Client) Write(ctx context.Context, key, property string, value []byte) error {
	name := c.secretName(key)
	s, err := c.sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
	switch status.Code(err) {
	case codes.OK:
		if !push.Managed(s.GetLabels()) {
			return fmt.Errorf("%s exists and was not created by PushSecret (no label %s=%s); refusing to overwrite it", name, push.ManagedByKey, push.ManagedByValue)
		}
	case codes.NotFound:
		sec := &secretmanagerpb.Secret{Labels: map[string]string{push.ManagedByKey: push.ManagedByValue}}
		if c.location == "" {
			sec.Replication = &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
		}
		if _, err := c.sm.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: c.parent(), SecretId: key, Secret: sec}); err != nil {
			return gcpError("CreateSecret", name, err)
		}
	default:
		return gcpError("GetSecret", name, err)
	}
	cur, err := c.Read(ctx, key, "")
	exists := err == nil
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	next, err := push.Set(cur.Value, exists, property, value)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if exists && bytes.Equal(cur.Value, next) {
		return nil
	}
	if _, err := c.sm.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: name, Payload: &secretmanagerpb.SecretPayload{Data: next}}); err != nil {
		return gcpError("AddSecretVersion", name, err)
	}
	return nil
}

// Delete implements provider.Writer: a property is removed with a new
// version (the secret goes with its last property); a whole secret is
// deleted. Secrets PushSecret did not create stay.
func (c *Client) Delete(ctx context.Context, key, property string) error {
	name := c.secretName(key)
	s, err := c.sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: name})
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		return gcpError("GetSecret", name, err)
	}
	if !push.Managed(s.GetLabels()) {
		return fmt.Errorf("%s was not created by PushSecret (no label %s=%s); refusing to delete it", name, push.ManagedByKey, push.ManagedByValue)
	}
	if property != "" {
		cur, err := c.Read(ctx, key, "")
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			return err
		}
		next, empty, changed, err := push.Remove(cur.Value, property)
		if err != nil || !changed {
			return err
		}
		if !empty {
			if _, err := c.sm.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: name, Payload: &secretmanagerpb.SecretPayload{Data: next}}); err != nil {
				return gcpError("AddSecretVersion", name, err)
			}
			return nil
		}
	}
	if err := c.sm.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: name}); err != nil && status.Code(err) != codes.NotFound {
		return gcpError("DeleteSecret", name, err)
	}
	return nil
}
