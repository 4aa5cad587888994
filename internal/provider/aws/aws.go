// Package aws is the store provider for AWS Secrets Manager and Systems
// Manager Parameter Store (spec.provider.aws). One client is built per store
// and kept: its credentials (static keys, an assumed role, a web identity
// from a ServiceAccount token, or the SDK's default chain) sit in the SDK's
// credentials cache, which renews them before they expire, so a sync costs
// no STS call. Endpoints follow the SDK's own settings (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM,
// AWS_ENDPOINT_URL_STS), as users pointing at LocalStack or moto expect.
package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go/middleware"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

const (
	field = "spec.provider.aws"
	// roleARNAnnotation names the role a ServiceAccount's token may assume (IRSA).
	roleARNAnnotation = "eks.amazonaws.com/role-arn"
	// tokenAudience is what STS expects in a web identity token by default.
	tokenAudience = "sts.amazonaws.com"
	// expiryWindow renews temporary credentials this long before they expire.
	expiryWindow = 5 * time.Minute
	// sessionName identifies Keyward in CloudTrail.
	sessionName = "keyward"
)

// Provider builds clients for spec.provider.aws.
type Provider struct{}

// New returns the provider.
func New() *Provider { return &Provider{} }

// Name implements provider.Provider.
func (*Provider) Name() string { return "aws" }

// Referent implements provider.Provider: a ClusterSecretStore whose
// credentials name no namespace reads them where it is used.
func (*Provider) Referent(spec *esv1.SecretStoreSpec) bool {
	a := spec.Provider.AWS
	if a == nil {
		return false
	}
	unset := func(ns *string) bool { return ns == nil || *ns == "" }
	if r := a.Auth.SecretRef; r != nil {
		if unset(r.AccessKeyID.Namespace) || unset(r.SecretAccessKey.Namespace) ||
			(r.SessionToken != nil && unset(r.SessionToken.Namespace)) {
			return true
		}
	}
	if j := a.Auth.JWTAuth; j != nil && j.ServiceAccountRef != nil && unset(j.ServiceAccountRef.Namespace) {
		return true
	}
	return false
}

// AmbientIdentity implements provider.AmbientIdentity: with neither
// auth.secretRef nor auth.jwt the SDK's default chain would hand the store
// the controller's own credentials (its environment, IRSA, instance
// role), and role or additionalRoles would be assumed on top of them.
func (*Provider) AmbientIdentity(spec *esv1.SecretStoreSpec) (string, string) {
	a := spec.Provider.AWS
	if a == nil || a.Auth.SecretRef != nil || a.Auth.JWTAuth != nil {
		return "", ""
	}
	return field + ".auth", "secretRef, or jwt.serviceAccountRef naming a ServiceAccount of the store's namespace"
}

// NewClient implements provider.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube provider.Kube, namespace string) (provider.Client, error) {
	spec := store.GetSpec().Provider.AWS
	if spec == nil {
		return nil, errors.New(field + " is not set")
	}
	retry, err := provider.RetrySettings(store.GetSpec())
	if err != nil {
		return nil, err
	}
	cfg, creds, err := p.config(ctx, store, kube, namespace, spec, retry)
	if err != nil {
		return nil, err
	}
	base := base{cfg: cfg, prefix: spec.Prefix, creds: creds}
	switch spec.Service {
	case "SecretsManager":
		c := &SecretsManager{base: base, sm: secretsmanager.NewFromConfig(cfg)}
		if s := spec.SecretsManager; s != nil {
			c.forceDelete, c.recoveryDays = s.ForceDeleteWithoutRecovery, s.RecoveryWindowInDays
			if c.forceDelete && c.recoveryDays != 0 {
				return nil, fmt.Errorf("%s.secretsManager: set forceDeleteWithoutRecovery or recoveryWindowInDays, not both", field)
			}
		}
		return c, nil
	case "ParameterStore":
		return &ParameterStore{base: base, ssm: ssm.NewFromConfig(cfg)}, nil
	case "":
		return nil, fmt.Errorf("%s.service: required (SecretsManager or ParameterStore)", field)
	default:
		return nil, fmt.Errorf("%s.service: %q is not served by Keyward (SecretsManager or ParameterStore)", field, spec.Service)
	}
}

// config loads the SDK configuration (region, endpoints, retries) and puts
// the store's credentials in it.
func (p *Provider) config(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.AWSProvider, r provider.Retry) (aws.Config, []provider.Ref, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(r) }),
		config.WithAPIOptions([]func(*middleware.Stack) error{throttleReporting}),
	}
	if spec.Region != "" {
		opts = append(opts, config.WithRegion(spec.Region))
	}
	var refs []provider.Ref
	a := spec.Auth
	switch {
	case a.SecretRef != nil && a.JWTAuth != nil:
		return aws.Config{}, nil, fmt.Errorf("%s.auth: set secretRef or jwt, not both", field)
	case a.SecretRef != nil:
		static, r, err := staticKeys(ctx, kube, store, ns, a.SecretRef)
		if err != nil {
			return aws.Config{}, nil, err
		}
		refs = r
		opts = append(opts, config.WithCredentialsProvider(static))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("%s: loading the AWS configuration: %w", field, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, nil, fmt.Errorf("%s.region: required (or AWS_REGION in the controller's environment)", field)
	}

	if j := a.JWTAuth; j != nil {
		if j.ServiceAccountRef == nil {
			return aws.Config{}, nil, fmt.Errorf("%s.auth.jwt.serviceAccountRef: required", field)
		}
		sa, err := provider.ServiceAccount(ctx, kube, store, ns, *j.ServiceAccountRef, field+".auth.jwt.serviceAccountRef")
		if err != nil {
			return aws.Config{}, nil, err
		}
		role := sa.Annotations[roleARNAnnotation]
		if role == "" {
			return aws.Config{}, nil, fmt.Errorf("%s.auth.jwt.serviceAccountRef: ServiceAccount %s/%s has no %s annotation naming the role to assume", field, sa.Namespace, sa.Name, roleARNAnnotation)
		}
		audiences := j.ServiceAccountRef.Audiences
		if len(audiences) == 0 {
			audiences = []string{tokenAudience}
		}
		tokens := provider.ServiceAccountTokenSource(kube, sa, audiences)
		cfg.Credentials = cache(stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), role, tokenRetriever(tokens),
			func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = sessionName }))
	}

	// additionalRoles are hops of a chain; role, the last, carries the
	// external ID and session tags.
	for _, hop := range spec.AdditionalRoles {
		cfg.Credentials = cache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), hop,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = sessionName }))
	}
	if spec.Role != "" {
		tags := make([]ststypes.Tag, 0, len(spec.SessionTags))
		for i, t := range spec.SessionTags {
			if t == nil || t.Key == "" {
				return aws.Config{}, nil, fmt.Errorf("%s.sessionTags[%d].key: required", field, i)
			}
			tags = append(tags, ststypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
		cfg.Credentials = cache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), spec.Role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName
			if spec.ExternalID != "" {
				o.ExternalID = aws.String(spec.ExternalID)
			}
			o.Tags = tags
			o.TransitiveTagKeys = spec.TransitiveTagKeys
		}))
	} else if spec.ExternalID != "" || len(spec.SessionTags) > 0 {
		return aws.Config{}, nil, fmt.Errorf("%s: externalID and sessionTags apply to an assumed role; set role too", field)
	}
	return cfg, refs, nil
}

// cache keeps temporary credentials and renews them expiryWindow (less a
// jitter, so stores sharing a role do not renew together) before expiry.
func cache(p aws.CredentialsProvider) aws.CredentialsProvider {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = expiryWindow
		o.ExpiryWindowJitterFrac = 0.5
	})
}

func staticKeys(ctx context.Context, kube provider.Kube, store esv1.GenericStore, ns string, r *esv1.AWSSecretRef) (aws.CredentialsProvider, []provider.Ref, error) {
	f := field + ".auth.secretRef"
	id, idRef, err := provider.SecretKey(ctx, kube, store, ns, r.AccessKeyID, f+".accessKeyIDSecretRef")
	if err != nil {
		return nil, nil, err
	}
	secret, secretRef, err := provider.SecretKey(ctx, kube, store, ns, r.SecretAccessKey, f+".secretAccessKeySecretRef")
	if err != nil {
		return nil, nil, err
	}
	refs := []provider.Ref{idRef, secretRef}
	var token []byte
	if r.SessionToken != nil {
		var tokRef provider.Ref
		if token, tokRef, err = provider.SecretKey(ctx, kube, store, ns, *r.SessionToken, f+".sessionTokenSecretRef"); err != nil {
			return nil, nil, err
		}
		refs = append(refs, tokRef)
	}
	return credentials.NewStaticCredentialsProvider(string(id), string(secret), string(token)), refs, nil
}

// tokenRetriever adapts a ServiceAccount token source to the SDK, which
// asks for a token each time it renews the web identity credentials.
type tokenRetriever func(ctx context.Context) (string, error)

func (f tokenRetriever) GetIdentityToken() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := f(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s.auth.jwt: %w", field, err)
	}
	return []byte(tok), nil
}

// base is what both services' clients share.
type base struct {
	cfg    aws.Config
	prefix string
	creds  []provider.Ref
}

// Credentials implements provider.CredentialRefs: the client is rebuilt
// when the Secret holding its static keys changes.
func (b *base) Credentials() []provider.Ref { return b.creds }

// Validate implements provider.Client: the credentials must be obtainable
// (for a role or web identity, STS must hand them out).
func (b *base) Validate(ctx context.Context) error {
	if _, err := b.cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("%s: obtaining credentials: %w", field, describe(err))
	}
	return nil
}

// Close implements provider.Client.
func (b *base) Close() {}
