package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/provider/push"
)

// getParametersMax is the most names GetParameters takes.
const getParametersMax = 10

// ParameterStore reads and writes SSM Parameter Store.
type ParameterStore struct {
	base
	ssm *ssm.Client
}

func (c *ParameterStore) name(key string) string { return c.prefix + key }

// Read implements provider.Client; version is a parameter version number
// or label (the "name:selector" form), empty for the latest. SecureString
// values are decrypted.
func (c *ParameterStore) Read(ctx context.Context, key, version string) (provider.Secret, error) {
	name := c.name(key)
	if version != "" {
		name += ":" + version
	}
	out, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return provider.Secret{}, ssmError("GetParameter", name, err)
	}
	return provider.Secret{Value: []byte(aws.ToString(out.Parameter.Value))}, nil
}

func ssmError(op, name string, err error) error {
	var nf *ssmtypes.ParameterNotFound
	var vnf *ssmtypes.ParameterVersionNotFound
	var inv *ssmtypes.InvalidResourceId
	if errors.As(err, &nf) || errors.As(err, &vnf) || errors.As(err, &inv) {
		return fmt.Errorf("parameter %q: %w", name, provider.ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, name, describe(err))
}

// ReadMetadata implements provider.MetadataReader: the parameter's tags.
func (c *ParameterStore) ReadMetadata(ctx context.Context, key string) (provider.Secret, error) {
	return tagsJSON(c.tags(ctx, c.name(key)))
}

func (c *ParameterStore) tags(ctx context.Context, name string) (map[string]string, error) {
	out, err := c.ssm.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name),
	})
	if err != nil {
		return nil, ssmError("ListTagsForResource", name, err)
	}
	m := make(map[string]string, len(out.TagList))
	for _, t := range out.TagList {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

// Find implements provider.Client. With only a path it is one paginated
// GetParametersByPath (recursive). With tags or a name it lists names with
// DescribeParameters (tags and path filtered on the server, the regexp
// here) and reads them with GetParameters, ten at a time.
func (c *ParameterStore) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	path := c.prefix + pathOf(find)
	out := map[string]provider.Secret{}
	if path != "" && len(find.Tags) == 0 {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("find.path: %q must start with / for Parameter Store", path)
		}
		pages := ssm.NewGetParametersByPathPaginator(c.ssm, &ssm.GetParametersByPathInput{
			Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("GetParametersByPath %q: %w", path, describe(err))
			}
			for _, p := range page.Parameters {
				key := strings.TrimPrefix(aws.ToString(p.Name), c.prefix)
				if re == nil || re.MatchString(key) {
					out[key] = provider.Secret{Value: []byte(aws.ToString(p.Value))}
				}
			}
		}
		return out, nil
	}

	var filters []ssmtypes.ParameterStringFilter
	if path != "" {
		filters = append(filters, ssmtypes.ParameterStringFilter{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{path}})
	} else if c.prefix != "" {
		filters = append(filters, ssmtypes.ParameterStringFilter{Key: aws.String("Name"), Option: aws.String("BeginsWith"), Values: []string{c.prefix}})
	}
	keys := make([]string, 0, len(find.Tags))
	for k := range find.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		filters = append(filters, ssmtypes.ParameterStringFilter{Key: aws.String("tag:" + k), Option: aws.String("Equals"), Values: []string{find.Tags[k]}})
	}
	var names []string
	pages := ssm.NewDescribeParametersPaginator(c.ssm, &ssm.DescribeParametersInput{ParameterFilters: filters})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeParameters: %w", describe(err))
		}
		for _, p := range page.Parameters {
			name := aws.ToString(p.Name)
			if re == nil || re.MatchString(strings.TrimPrefix(name, c.prefix)) {
				names = append(names, name)
			}
		}
	}
	for start := 0; start < len(names); start += getParametersMax {
		batch := names[start:min(start+getParametersMax, len(names))]
		res, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("GetParameters: %w", describe(err))
		}
		for _, p := range res.Parameters {
			out[strings.TrimPrefix(aws.ToString(p.Name), c.prefix)] = provider.Secret{Value: []byte(aws.ToString(p.Value))}
		}
	}
	return out, nil
}

// Write implements provider.Writer: a missing parameter is created as a
// SecureString with ESO's managed-by tag; an existing one is overwritten
// only if it carries that tag, and only when the value changes.
func (c *ParameterStore) Write(ctx context.Context, key, property string, value []byte) error {
	name := c.name(key)
	cur, err := c.Read(ctx, key, "")
	exists := err == nil
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	if exists {
		tags, err := c.tags(ctx, name)
		if err != nil {
			return err
		}
		if !push.Managed(tags) {
			return fmt.Errorf("parameter %q exists and was not created by PushSecret (no tag %s=%s); refusing to overwrite it", name, push.ManagedByKey, push.ManagedByValue)
		}
	}
	next, err := push.Set(cur.Value, exists, property, value)
	if err != nil {
		return fmt.Errorf("parameter %q: %w", name, err)
	}
	if exists && bytes.Equal(cur.Value, next) {
		return nil
	}
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(string(next)), Type: ssmtypes.ParameterTypeSecureString}
	if exists {
		in.Overwrite = aws.Bool(true)
	} else {
		// Tags may only be given when creating.
		in.Tags = []ssmtypes.Tag{{Key: aws.String(push.ManagedByKey), Value: aws.String(push.ManagedByValue)}}
	}
	if _, err := c.ssm.PutParameter(ctx, in); err != nil {
		return fmt.Errorf("PutParameter %q: %w", name, describe(err))
	}
	return nil
}

// Delete implements provider.Writer, like SecretsManager.Delete.
func (c *ParameterStore) Delete(ctx context.Context, key, property string) error {
	name := c.name(key)
	cur, err := c.Read(ctx, key, "")
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	tags, err := c.tags(ctx, name)
	if err != nil {
		return err
	}
	if !push.Managed(tags) {
		return fmt.Errorf("parameter %q was not created by PushSecret (no tag %s=%s); refusing to delete it", name, push.ManagedByKey, push.ManagedByValue)
	}
	if property != "" {
		next, empty, changed, err := push.Remove(cur.Value, property)
		if err != nil || !changed {
			return err
		}
		if !empty {
			_, err := c.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(string(next)),
				Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)})
			if err != nil {
				return fmt.Errorf("PutParameter %q: %w", name, describe(err))
			}
			return nil
		}
	}
	if _, err := c.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil {
		if err := ssmError("DeleteParameter", name, err); !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	return nil
}
