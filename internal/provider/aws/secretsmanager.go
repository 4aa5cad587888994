package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/provider/push"
)

// versionIDPrefix marks a remoteRef.version as a version ID; any other
// version is a staging label (AWSCURRENT, AWSPREVIOUS, or custom), as in ESO.
const versionIDPrefix = "uuid/"

// batchSize is the most secrets BatchGetSecretValue takes by ID.
const batchSize = 20

// SecretsManager reads and writes AWS Secrets Manager.
type SecretsManager struct {
	base
	sm           *secretsmanager.Client
	forceDelete  bool
	recoveryDays int64
}

func (c *SecretsManager) name(key string) string { return c.prefix + key }

// Read implements provider.Client. version is a staging label, or a
// version ID written as "uuid/<id>"; empty means AWSCURRENT.
func (c *SecretsManager) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.name(key))}
	switch {
	case strings.HasPrefix(version, versionIDPrefix):
		in.VersionId = aws.String(strings.TrimPrefix(version, versionIDPrefix))
	case version != "":
		in.VersionStage = aws.String(version)
	}
	out, err := c.sm.GetSecretValue(ctx, in)
	if err != nil {
		return provider.Secret{}, smError("GetSecretValue", c.name(key), err)
	}
	return provider.Secret{Value: secretValue(out.SecretString, out.SecretBinary)}, nil
}

func secretValue(s *string, b []byte) []byte {
	if s != nil {
		return []byte(*s)
	}
	return b
}

// smError maps Secrets Manager errors: a missing secret (or version, or one
// scheduled for deletion) is provider.ErrNotFound.
func smError(op, name string, err error) error {
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("secret %q: %w", name, provider.ErrNotFound)
	}
	var inv *smtypes.InvalidRequestException
	if errors.As(err, &inv) && strings.Contains(inv.ErrorMessage(), "marked for deletion") {
		return fmt.Errorf("secret %q is scheduled for deletion: %w", name, provider.ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, name, describe(err))
}

// ReadMetadata implements provider.MetadataReader: the secret's tags.
func (c *SecretsManager) ReadMetadata(ctx context.Context, key string) (provider.Secret, error) {
	return tagsJSON(c.tags(ctx, c.name(key)))
}

func (c *SecretsManager) tags(ctx context.Context, name string) (map[string]string, error) {
	out, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		return nil, smError("DescribeSecret", name, err)
	}
	if out.DeletedDate != nil {
		return nil, fmt.Errorf("secret %q is scheduled for deletion: %w", name, provider.ErrNotFound)
	}
	return smTags(out.Tags), nil
}

// tagsJSON is both services' metadata: the tags as one JSON object.
func tagsJSON(tags map[string]string, err error) (provider.Secret, error) {
	if err != nil {
		return provider.Secret{}, err
	}
	b, err := json.Marshal(tags)
	return provider.Secret{Value: b}, err
}

func smTags(tags []smtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Find implements provider.Client: ListSecrets, page by page, narrowed on
// the server by path (a name prefix) and tags, then by the name regexp;
// the values come from BatchGetSecretValue, twenty at a time.
func (c *SecretsManager) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	var filters []smtypes.Filter
	if prefix := c.prefix + pathOf(find); prefix != "" {
		filters = append(filters, smtypes.Filter{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}})
	}
	keys := make([]string, 0, len(find.Tags))
	for k := range find.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		filters = append(filters,
			smtypes.Filter{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{k}},
			smtypes.Filter{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{find.Tags[k]}})
	}
	var names []string
	pages := secretsmanager.NewListSecretsPaginator(c.sm, &secretsmanager.ListSecretsInput{Filters: filters})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListSecrets: %w", describe(err))
		}
		for _, s := range page.SecretList {
			name := aws.ToString(s.Name)
			// The server's tag filters match keys and values separately; pairs are checked here.
			if s.DeletedDate != nil || !tagsMatch(smTags(s.Tags), find.Tags) {
				continue
			}
			if re != nil && !re.MatchString(strings.TrimPrefix(name, c.prefix)) {
				continue
			}
			names = append(names, name)
		}
	}
	out := make(map[string]provider.Secret, len(names))
	for start := 0; start < len(names); start += batchSize {
		batch := names[start:min(start+batchSize, len(names))]
		in := &secretsmanager.BatchGetSecretValueInput{SecretIdList: batch}
		for {
			page, err := c.sm.BatchGetSecretValue(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("BatchGetSecretValue: %w", describe(err))
			}
			for _, e := range page.Errors {
				// A secret deleted since it was listed is simply gone.
				if aws.ToString(e.ErrorCode) != "ResourceNotFoundException" {
					return nil, fmt.Errorf("BatchGetSecretValue %q: %s: %s", aws.ToString(e.SecretId), aws.ToString(e.ErrorCode), aws.ToString(e.Message))
				}
			}
			for _, v := range page.SecretValues {
				out[strings.TrimPrefix(aws.ToString(v.Name), c.prefix)] = provider.Secret{Value: secretValue(v.SecretString, v.SecretBinary)}
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}

func pathOf(find esv1.ExternalSecretFind) string {
	if find.Path == nil {
		return ""
	}
	return *find.Path
}

func tagsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Write implements provider.Writer. A missing secret is created with ESO's
// managed-by tag; an existing one is written only if it carries that tag,
// and only when the value changes (each write is a billed version).
func (c *SecretsManager) Write(ctx context.Context, key, property string, value []byte) error {
	name := c.name(key)
	tags, err := c.tags(ctx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	if exists && !push.Managed(tags) {
		return fmt.Errorf("secret %q exists and was not created by PushSecret (no tag %s=%s); refusing to overwrite it", name, push.ManagedByKey, push.ManagedByValue)
	}
	var current []byte
	if exists {
		cur, err := c.Read(ctx, key, "")
		switch {
		case errors.Is(err, provider.ErrNotFound):
			exists = false // described but holding no version yet
		case err != nil:
			return err
		default:
			current = cur.Value
		}
	}
	next, err := push.Set(current, exists, property, value)
	if err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	if tags == nil {
		_, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String(string(next)),
			Tags: []smtypes.Tag{{Key: aws.String(push.ManagedByKey), Value: aws.String(push.ManagedByValue)}},
		})
		if err != nil {
			return fmt.Errorf("CreateSecret %q: %w", name, describe(err))
		}
		return nil
	}
	if exists && bytes.Equal(current, next) {
		return nil
	}
	if _, err := c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(next))}); err != nil {
		return fmt.Errorf("PutSecretValue %q: %w", name, describe(err))
	}
	return nil
}

// Delete implements provider.Writer: a property is removed from the JSON
// value (the secret goes with its last one); a whole secret is deleted
// with the store's recovery window. Secrets PushSecret did not create stay.
func (c *SecretsManager) Delete(ctx context.Context, key, property string) error {
	name := c.name(key)
	tags, err := c.tags(ctx, name)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !push.Managed(tags) {
		return fmt.Errorf("secret %q was not created by PushSecret (no tag %s=%s); refusing to delete it", name, push.ManagedByKey, push.ManagedByValue)
	}
	if property != "" {
		cur, err := c.Read(ctx, key, "")
		if errors.Is(err, provider.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		next, empty, changed, err := push.Remove(cur.Value, property)
		if err != nil || !changed {
			return err
		}
		if !empty {
			if _, err := c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(next))}); err != nil {
				return fmt.Errorf("PutSecretValue %q: %w", name, describe(err))
			}
			return nil
		}
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(name)}
	if c.forceDelete {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else if c.recoveryDays > 0 {
		in.RecoveryWindowInDays = aws.Int64(c.recoveryDays)
	}
	if _, err := c.sm.DeleteSecret(ctx, in); err != nil {
		if err := smError("DeleteSecret", name, err); errors.Is(err, provider.ErrNotFound) {
			return nil
		} else {
			return err
		}
	}
	return nil
}
