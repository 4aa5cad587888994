// Package kubernetes is the store provider that reads (and, for PushSecret,
// writes) Secrets in another namespace of this cluster or in another
// cluster reached by URL. The remote key is a Secret name; a property is a
// key of its data.
//
// Identity: a store names its own (auth: token, cert or serviceAccount;
// or authRef: a kubeconfig in a Secret). With neither, a ClusterSecretStore
// acts as the controller itself; a SecretStore is refused (see
// provider.AmbientIdentity). A kubeconfig from authRef may carry only
// inline data: exec, auth-provider and file paths are refused, since they
// would make the controller run a program or read its own files.
//
// PushSecret ownership: a Secret the provider creates carries the label
// managed-by=external-secrets (the marker the cloud providers put on what
// they push). An existing Secret without it is neither written nor deleted,
// unless the store is annotated
// externalsecrets.keyward.dev/push-may-overwrite: "true".
package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	coreclient "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/provider/push"
)

const (
	defaultRemoteNamespace = "default"
	// MayOverwriteAnnotation on a store, set to "true", lets PushSecret
	// write over and delete remote Secrets it did not create.
	MayOverwriteAnnotation = "externalsecrets.keyward.dev/push-may-overwrite"
)

// Provider builds clients for spec.provider.kubernetes.
type Provider struct {
	// Local is the controller's own connection, used when server.url is
	// empty (its host and CA; its credentials too when auth is empty).
	Local *rest.Config
}

// New returns the provider; local is the controller's own connection.
func New(local *rest.Config) *Provider { return &Provider{Local: local} }

// Name implements provider.Provider.
func (p *Provider) Name() string { return "kubernetes" }

// Referent implements provider.Provider: credentials named without a
// namespace in a ClusterSecretStore are read where the store is used.
func (p *Provider) Referent(spec *esv1.SecretStoreSpec) bool {
	k := spec.Provider.Kubernetes
	if k == nil {
		return false
	}
	unset := func(ns *string) bool { return ns == nil || *ns == "" }
	if k.Server.CAProvider != nil && unset(k.Server.CAProvider.Namespace) {
		return true
	}
	if k.AuthRef != nil && unset(k.AuthRef.Namespace) {
		return true
	}
	if a := k.Auth; a != nil {
		switch {
		case a.ServiceAccount != nil:
			return unset(a.ServiceAccount.Namespace)
		case a.Token != nil:
			return unset(a.Token.BearerToken.Namespace)
		case a.Cert != nil:
			return unset(a.Cert.ClientCert.Namespace) || unset(a.Cert.ClientKey.Namespace)
		}
	}
	return false
}

// AmbientIdentity implements provider.AmbientIdentity: with neither auth
// nor authRef the store would act with the controller's own identity.
func (*Provider) AmbientIdentity(spec *esv1.SecretStoreSpec) (string, string) {
	k := spec.Provider.Kubernetes
	if k == nil || k.Auth != nil || k.AuthRef != nil {
		return "", ""
	}
	return "spec.provider.kubernetes.auth", "auth or authRef"
}

// NewClient implements provider.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube provider.Kube, namespace string) (provider.Client, error) {
	spec := store.GetSpec().Provider.Kubernetes
	if spec == nil {
		return nil, errors.New("spec.provider.kubernetes is not set")
	}
	c := &Client{remoteNS: spec.RemoteNamespace, mayOverwrite: store.GetAnnotations()[MayOverwriteAnnotation] == "true"}
	if c.remoteNS == "" {
		c.remoteNS = defaultRemoteNamespace
	}
	cfg, err := p.restConfig(ctx, store, kube, namespace, spec, c)
	if err != nil {
		return nil, err
	}
	// The Manager rate-limits each store; client-go's own limiter would only add a second queue.
	cfg.QPS, cfg.Burst = 1000, 2000
	cfg.UserAgent = "keyward-kubernetes-provider"
	if c.secrets, err = coreclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("spec.provider.kubernetes: %w", err)
	}
	if c.authn, err = authnclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("spec.provider.kubernetes: %w", err)
	}
	if c.authz, err = authzclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("spec.provider.kubernetes: %w", err)
	}
	return c, nil
}

func (p *Provider) restConfig(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.KubernetesProvider, c *Client) (*rest.Config, error) {
	const field = "spec.provider.kubernetes"
	if spec.AuthRef != nil {
		kc, ref, err := provider.SecretKey(ctx, kube, store, ns, *spec.AuthRef, field+".authRef")
		if err != nil {
			return nil, err
		}
		c.creds = append(c.creds, ref)
		return kubeconfig(kc, field+".authRef")
	}

	var cfg *rest.Config
	if spec.Server.URL == "" {
		if p.Local == nil {
			return nil, fmt.Errorf("%s.server.url: required, since this controller has no local cluster connection", field)
		}
		cfg = rest.CopyConfig(p.Local)
		if spec.Auth != nil {
			// Keep the local host and CA, drop the controller's own identity.
			cfg = &rest.Config{Host: p.Local.Host, APIPath: p.Local.APIPath, TLSClientConfig: rest.TLSClientConfig{
				CAData: p.Local.CAData, CAFile: p.Local.CAFile, ServerName: p.Local.ServerName, Insecure: p.Local.Insecure,
			}}
		}
	} else {
		if spec.Auth == nil {
			return nil, fmt.Errorf("%s.auth: required when server.url names another cluster", field)
		}
		cfg = &rest.Config{Host: spec.Server.URL}
	}
	ca, caRef, err := provider.CABundle(ctx, kube, store, ns, spec.Server.CABundle, spec.Server.CAProvider, field+".server")
	if err != nil {
		return nil, err
	}
	if caRef != nil {
		c.creds = append(c.creds, *caRef)
	}
	if ca != nil {
		cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile = ca, ""
	}

	a := spec.Auth
	switch {
	case a == nil:
	case a.Token != nil:
		tok, ref, err := provider.SecretKey(ctx, kube, store, ns, a.Token.BearerToken, field+".auth.token.bearerToken")
		if err != nil {
			return nil, err
		}
		c.creds = append(c.creds, ref)
		cfg.BearerToken = string(tok)
	case a.Cert != nil:
		cert, ref, err := provider.SecretKey(ctx, kube, store, ns, a.Cert.ClientCert, field+".auth.cert.clientCert")
		if err != nil {
			return nil, err
		}
		key, kref, err := provider.SecretKey(ctx, kube, store, ns, a.Cert.ClientKey, field+".auth.cert.clientKey")
		if err != nil {
			return nil, err
		}
		c.creds = append(c.creds, ref, kref)
		cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = cert, key
	case a.ServiceAccount != nil:
		// The token lives provider.TokenLifetime; the Manager rebuilds the
		// client with a fresh one before it expires.
		tok, exp, err := provider.ServiceAccountTokenFor(ctx, kube, store, ns, *a.ServiceAccount, a.ServiceAccount.Audiences, field+".auth.serviceAccount")
		if err != nil {
			return nil, err
		}
		cfg.BearerToken, c.expires = tok, exp
	default:
		return nil, fmt.Errorf("%s.auth: set one of cert, token or serviceAccount", field)
	}
	return cfg, nil
}

// kubeconfig builds a connection from a kubeconfig a store's Secret holds.
// Only inline data is accepted: the document comes from a namespace user,
// and exec, an auth-provider or a file path would have the controller run
// a program or present its own files. The error names the entry and the
// field, never a value.
func kubeconfig(data []byte, field string) (*rest.Config, error) {
	doc, err := clientcmd.Load(data)
	if err != nil {
		// Not the parser's text: a decoding error can quote the document.
		return nil, fmt.Errorf("%s: the Secret's key is not a kubeconfig (YAML or JSON)", field)
	}
	for _, name := range slices.Sorted(maps.Keys(doc.AuthInfos)) {
		u := doc.AuthInfos[name]
		if u == nil {
			continue
		}
		at := fmt.Sprintf("%s: users[%q]", field, name)
		switch {
		case u.Exec != nil:
			return nil, fmt.Errorf("%s.exec: not allowed; a store's kubeconfig may not run a program (give a token or client certificate inline)", at)
		case u.AuthProvider != nil:
			return nil, fmt.Errorf("%s.auth-provider: not allowed; give a token or client certificate inline", at)
		case u.TokenFile != "":
			return nil, fmt.Errorf("%s.tokenFile: not allowed; a store's kubeconfig may not name files (use token)", at)
		case u.ClientCertificate != "":
			return nil, fmt.Errorf("%s.client-certificate: not allowed; a store's kubeconfig may not name files (use client-certificate-data)", at)
		case u.ClientKey != "":
			return nil, fmt.Errorf("%s.client-key: not allowed; a store's kubeconfig may not name files (use client-key-data)", at)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Clusters)) {
		if cl := doc.Clusters[name]; cl != nil && cl.CertificateAuthority != "" {
			return nil, fmt.Errorf("%s: clusters[%q].certificate-authority: not allowed; a store's kubeconfig may not name files (use certificate-authority-data)", field, name)
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*doc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: the kubeconfig does not load: %w", field, err)
	}
	return cfg, nil
}

// Client reads and writes Secrets of one remote namespace.
type Client struct {
	// mayOverwrite lets PushSecret change Secrets it did not create.
	mayOverwrite bool
	remoteNS     string
	secrets      coreclient.CoreV1Interface
	authn        authnclient.AuthenticationV1Interface
	authz        authzclient.AuthorizationV1Interface
	creds        []provider.Ref
	expires      time.Time
}

// Credentials implements provider.CredentialRefs.
func (c *Client) Credentials() []provider.Ref { return c.creds }

// ExpiresAt implements provider.Expiring.
func (c *Client) ExpiresAt() time.Time { return c.expires }

// Read implements provider.Client. Secrets have no versions; version is ignored.
func (c *Client) Read(ctx context.Context, key, _ string) (provider.Secret, error) {
	s, err := c.secrets.Secrets(c.remoteNS).Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return provider.Secret{}, fmt.Errorf("Secret %s/%s: %w", c.remoteNS, key, provider.ErrNotFound)
	}
	if err != nil {
		return provider.Secret{}, kubeError(fmt.Sprintf("reading Secret %s/%s", c.remoteNS, key), err)
	}
	data := s.Data
	if data == nil {
		data = map[string][]byte{}
	}
	return provider.Secret{Data: data}, nil
}

// Find implements provider.Client: tags select by label, name by regexp.
func (c *Client) Find(ctx context.Context, find esv1.ExternalSecretFind) (map[string]provider.Secret, error) {
	if find.Path != nil && *find.Path != "" {
		return nil, errors.New("find.path: the kubernetes provider has no paths; use name or tags")
	}
	re, err := provider.MatchName(find)
	if err != nil {
		return nil, err
	}
	list, err := c.secrets.Secrets(c.remoteNS).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(find.Tags).String()})
	if err != nil {
		return nil, kubeError("listing Secrets in "+c.remoteNS, err)
	}
	out := map[string]provider.Secret{}
	for _, s := range list.Items {
		if re != nil && !re.MatchString(s.Name) {
			continue
		}
		b, err := provider.Secret{Data: s.Data}.Property("")
		if err != nil {
			return nil, err
		}
		out[s.Name] = provider.Secret{Value: b}
	}
	return out, nil
}

// Validate implements provider.Client: the identity must be allowed to read Secrets.
func (c *Client) Validate(ctx context.Context) error {
	review, err := c.authz.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: c.remoteNS, Verb: "get", Resource: "secrets",
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return kubeError("checking access to Secrets in "+c.remoteNS, err)
	}
	if !review.Status.Allowed {
		// The review's reason is the server's free text: left out.
		return fmt.Errorf("%s may not get Secrets in namespace %s", c.identity(ctx), c.remoteNS)
	}
	return nil
}

// identity names the user the store acts as, so a refusal says whom to
// grant access; "the store's identity" when the API server will not say.
func (c *Client) identity(ctx context.Context) string {
	r, err := c.authn.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	// A name from the reply is shown only when shaped like a user name: the
	// server may be any URL, and a long free text could echo anything.
	if err != nil || !isUserName(r.Status.UserInfo.Username) {
		return "the store's identity"
	}
	return fmt.Sprintf("the store's identity %q", r.Status.UserInfo.Username)
}

// isUserName says s is 1 to 128 of [A-Za-z0-9:._@-]. A loop, not a
// regexp: a bounded repetition compiles to a program 128 copies long, and
// package variables are built at start by every command.
func isUserName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for _, r := range []byte(s) {
		ok := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.IndexByte(":._@-", r) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// kubeError tells a failed API call by its status only: server.url may name
// any server, and a Status message or an unparsed body can echo anything.
func kubeError(op string, err error) error {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Code > 0 {
		return provider.Remote("kubernetes", op, int(st.Status().Code), err)
	}
	return provider.Remote("kubernetes", op, 0, err)
}

// Close implements provider.Client.
func (c *Client) Close() {}

// Write implements provider.Writer.
func (c *Client) Write(ctx context.Context, key, property string, value []byte) error {
	var whole map[string]string
	if property == "" {
		if err := json.Unmarshal(value, &whole); err != nil {
			return errors.New("without a property the pushed value must be a JSON object of strings")
		}
	}
	api := c.secrets.Secrets(c.remoteNS)
	s, err := api.Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: c.remoteNS, Name: key,
			Labels: map[string]string{push.ManagedByKey: push.ManagedByValue}}}
		apply(s, property, value, whole)
		if _, err := api.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return kubeError(fmt.Sprintf("creating Secret %s/%s", c.remoteNS, key), err)
		}
		return nil
	}
	if err != nil {
		return kubeError(fmt.Sprintf("reading Secret %s/%s", c.remoteNS, key), err)
	}
	if err := c.owned(s, "overwrite"); err != nil {
		return err
	}
	before := maps.Clone(s.Data)
	apply(s, property, value, whole)
	if maps.EqualFunc(before, s.Data, func(a, b []byte) bool { return string(a) == string(b) }) {
		return nil
	}
	if _, err := api.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		return kubeError(fmt.Sprintf("updating Secret %s/%s", c.remoteNS, key), err)
	}
	return nil
}

// owned refuses to act on a Secret PushSecret did not create, unless the
// store allows it (MayOverwriteAnnotation).
func (c *Client) owned(s *corev1.Secret, verb string) error {
	if c.mayOverwrite || push.Managed(s.Labels) {
		return nil
	}
	return fmt.Errorf("Secret %s/%s was not created by PushSecret (no label %s=%s); refusing to %s it (annotate the store %s: \"true\" to allow)",
		c.remoteNS, s.Name, push.ManagedByKey, push.ManagedByValue, verb, MayOverwriteAnnotation)
}

func apply(s *corev1.Secret, property string, value []byte, whole map[string]string) {
	if property == "" {
		s.Data = make(map[string][]byte, len(whole))
		for k, v := range whole {
			s.Data[k] = []byte(v)
		}
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data[property] = value
}

// Delete implements provider.Writer; the Secret goes once its last key does.
func (c *Client) Delete(ctx context.Context, key, property string) error {
	api := c.secrets.Secrets(c.remoteNS)
	s, err := api.Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return kubeError(fmt.Sprintf("reading Secret %s/%s", c.remoteNS, key), err)
	}
	if property != "" {
		if _, ok := s.Data[property]; !ok {
			return nil
		}
		if err := c.owned(s, "change"); err != nil {
			return err
		}
		delete(s.Data, property)
		if len(s.Data) > 0 {
			if _, err := api.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				return kubeError(fmt.Sprintf("updating Secret %s/%s", c.remoteNS, key), err)
			}
			return nil
		}
	} else if err := c.owned(s, "delete"); err != nil {
		return err
	}
	if err := api.Delete(ctx, key, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}}); err != nil && !apierrors.IsNotFound(err) {
		return kubeError(fmt.Sprintf("deleting Secret %s/%s", c.remoteNS, key), err)
	}
	return nil
}
