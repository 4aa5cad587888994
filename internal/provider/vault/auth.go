package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// auth turns spec.auth into an authenticator. Credentials kept in Secrets
// are read now (the Manager rebuilds the client when they change);
// ServiceAccount tokens are requested afresh for every login.
func (p *Provider) auth(ctx context.Context, store esv1.GenericStore, kube provider.Kube, ns string, spec *esv1.VaultProvider, tlsCfg *tls.Config, c *Client) (authenticator, error) {
	a := spec.Auth
	if a == nil {
		return authenticator{}, errors.New(field + ".auth: required")
	}
	secret := func(sel esv1.SecretKeySelector, f string) (string, error) {
		v, ref, err := provider.SecretKey(ctx, kube, store, ns, sel, f)
		if err != nil {
			return "", err
		}
		c.creds = append(c.creds, ref)
		// Values pasted into Secrets often end in a newline.
		return strings.TrimSpace(string(v)), nil
	}
	// The client that logs in: no token, in the auth namespace.
	loginClient := func(cfg *tls.Config) (*api.Client, error) {
		lc, err := newAPIClient(store, spec, cfg)
		if err != nil {
			return nil, err
		}
		switch {
		case a.Namespace != nil:
			lc.SetNamespace(*a.Namespace)
		case spec.Namespace != nil:
			lc.SetNamespace(*spec.Namespace)
		}
		return lc, nil
	}
	write := func(lc *api.Client, path string, body func(context.Context) (map[string]any, error)) login {
		return func(ctx context.Context) (*api.SecretAuth, error) {
			b, err := body(ctx)
			if err != nil {
				return nil, err
			}
			sec, err := lc.Logical().WriteWithContext(ctx, path, b)
			if err != nil {
				return nil, vaultError(err)
			}
			if sec == nil || sec.Auth == nil {
				return nil, fmt.Errorf("PUT %s: Vault returned no token", path)
			}
			return sec.Auth, nil
		}
	}
	fixed := func(b map[string]any) func(context.Context) (map[string]any, error) {
		return func(context.Context) (map[string]any, error) { return b, nil }
	}
	mount := func(path, def string) string {
		if p := strings.Trim(path, "/"); p != "" {
			return "auth/" + p
		}
		return "auth/" + def
	}
	// Kubernetes and JWT auth post the same body, a role and a token, to
	// their mounts.
	jwtLogin := func(method, path, role string, jwt func(context.Context) (string, error)) (authenticator, error) {
		lc, err := loginClient(tlsCfg)
		if err != nil {
			return authenticator{}, err
		}
		body := func(ctx context.Context) (map[string]any, error) {
			t, err := jwt(ctx)
			if err != nil {
				return nil, err
			}
			return map[string]any{"role": role, "jwt": t}, nil
		}
		return authenticator{method: method, login: write(lc, mount(path, method)+"/login", body)}, nil
	}

	switch {
	case a.TokenSecretRef != nil:
		tok, err := secret(*a.TokenSecretRef, field+".auth.tokenSecretRef")
		if err != nil {
			return authenticator{}, err
		}
		if tok == "" {
			return authenticator{}, errors.New(field + ".auth.tokenSecretRef: the token is empty")
		}
		return authenticator{static: tok, method: "tokenSecretRef"}, nil

	case a.AppRole != nil:
		f := field + ".auth.appRole"
		roleID := a.AppRole.RoleID
		if a.AppRole.RoleRef != nil {
			v, err := secret(*a.AppRole.RoleRef, f+".roleRef")
			if err != nil {
				return authenticator{}, err
			}
			roleID = v
		}
		if roleID == "" {
			return authenticator{}, errors.New(f + ": set roleId or roleRef")
		}
		secretID, err := secret(a.AppRole.SecretRef, f+".secretRef")
		if err != nil {
			return authenticator{}, err
		}
		lc, err := loginClient(tlsCfg)
		if err != nil {
			return authenticator{}, err
		}
		body := fixed(map[string]any{"role_id": roleID, "secret_id": secretID})
		return authenticator{method: "appRole", login: write(lc, mount(a.AppRole.Path, "approle")+"/login", body)}, nil

	case a.Kubernetes != nil:
		k := a.Kubernetes
		f := field + ".auth.kubernetes"
		if k.Role == "" {
			return authenticator{}, errors.New(f + ".role: required")
		}
		var jwt func(context.Context) (string, error)
		switch {
		case k.ServiceAccountRef != nil:
			jwt = p.serviceAccountToken(store, kube, ns, *k.ServiceAccountRef, k.ServiceAccountRef.Audiences, f+".serviceAccountRef")
		case k.SecretRef != nil:
			v, err := secret(*k.SecretRef, f+".secretRef")
			if err != nil {
				return authenticator{}, err
			}
			jwt = func(context.Context) (string, error) { return v, nil }
		default:
			// The controller's own token: the Manager lets only a
			// ClusterSecretStore get here (see AmbientIdentity).
			file := p.ServiceAccountTokenFile
			jwt = func(context.Context) (string, error) {
				b, err := os.ReadFile(file)
				if err != nil {
					return "", fmt.Errorf("%s: neither serviceAccountRef nor secretRef is set, and the controller's own token does not read: %w", f, err)
				}
				return strings.TrimSpace(string(b)), nil
			}
		}
		return jwtLogin("kubernetes", k.Path, k.Role, jwt)

	case a.UserPass != nil, a.Ldap != nil:
		// LDAP logs in exactly as userpass does, under its own mount.
		method, def, user, sel, path := "userPass", "userpass", "", esv1.SecretKeySelector{}, ""
		if a.UserPass != nil {
			user, sel, path = a.UserPass.Username, a.UserPass.SecretRef, a.UserPass.Path
		} else {
			method, def, user, sel, path = "ldap", "ldap", a.Ldap.Username, a.Ldap.SecretRef, a.Ldap.Path
		}
		f := field + ".auth." + method
		if user == "" {
			return authenticator{}, errors.New(f + ".username: required")
		}
		password, err := secret(sel, f+".secretRef")
		if err != nil {
			return authenticator{}, err
		}
		lc, err := loginClient(tlsCfg)
		if err != nil {
			return authenticator{}, err
		}
		body := fixed(map[string]any{"password": password})
		return authenticator{method: method, login: write(lc, mount(path, def)+"/login/"+user, body)}, nil

	case a.Jwt != nil:
		j := a.Jwt
		f := field + ".auth.jwt"
		var jwt func(context.Context) (string, error)
		switch {
		case j.KubernetesServiceAccountToken != nil:
			k := j.KubernetesServiceAccountToken
			auds := []string{"vault"}
			if k.Audiences != nil {
				auds = *k.Audiences
			}
			// expirationSeconds is not honoured: every token the controller
			// requests lives provider.TokenLifetime, TokenRequest's minimum.
			jwt = p.serviceAccountToken(store, kube, ns, k.ServiceAccountRef, auds, f+".kubernetesServiceAccountToken.serviceAccountRef")
		case j.SecretRef != nil:
			v, err := secret(*j.SecretRef, f+".secretRef")
			if err != nil {
				return authenticator{}, err
			}
			jwt = func(context.Context) (string, error) { return v, nil }
		default:
			return authenticator{}, errors.New(f + ": set secretRef or kubernetesServiceAccountToken")
		}
		return jwtLogin("jwt", j.Path, j.Role, jwt)

	case a.Cert != nil:
		f := field + ".auth.cert"
		cert, err := p.keyPair(ctx, store, kube, ns, a.Cert.ClientCert, a.Cert.SecretRef, f+".clientCert", f+".secretRef", c)
		if err != nil {
			return authenticator{}, err
		}
		// A listener that asks for this certificate at login asks for one on
		// every request, so the store presents it throughout unless its
		// tls block names another.
		if len(tlsCfg.Certificates) == 0 {
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
		cfg := tlsCfg.Clone()
		cfg.Certificates = []tls.Certificate{cert}
		lc, err := loginClient(cfg)
		if err != nil {
			return authenticator{}, err
		}
		return authenticator{method: "cert", login: write(lc, mount(a.Cert.Path, "cert")+"/login", fixed(map[string]any{}))}, nil

	case a.Iam != nil:
		return authenticator{}, errors.New(field + ".auth.iam: AWS IAM auth is not supported by Keyward yet")
	case a.GCP != nil:
		return authenticator{}, errors.New(field + ".auth.gcp: GCP auth is not supported by Keyward yet")
	}
	return authenticator{}, errors.New(field + ".auth: set one of tokenSecretRef, appRole, kubernetes, userPass, ldap, jwt or cert")
}

// serviceAccountToken requests a token for the ServiceAccount sel names,
// by the namespace rules of provider.ServiceAccountNamespace (a SecretStore
// naming another namespace is refused), afresh for every login.
func (p *Provider) serviceAccountToken(store esv1.GenericStore, kube provider.Kube, ns string, sel esv1.ServiceAccountSelector, audiences []string, f string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		tok, _, err := provider.ServiceAccountTokenFor(ctx, kube, store, ns, sel, audiences, f)
		return tok, err
	}
}
