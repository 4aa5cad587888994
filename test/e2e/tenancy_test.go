package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// tenancyCanaries are the values planted for the tenancy cases: the
// victims' (other namespaces, the controller's files) and the tenant's
// own (which templates and error replies must not print either).
type tenancyCanaries struct {
	victim, system, shared, victimKubeconfig, file canary
	own, ownPin, serverToken, echo                 canary
	sealedStrict, sealedNamespace, sealedCluster   canary
}

func (c *tenancyCanaries) all() []canary {
	return []canary{c.victim, c.system, c.shared, c.victimKubeconfig, c.file, c.own, c.ownPin, c.serverToken, c.echo,
		c.sealedStrict, c.sealedNamespace, c.sealedCluster}
}

// TestTenancy acts as a namespace's user, through that user's own
// ServiceAccount and a Role limited to its namespace, and tries every way
// known to reach another namespace's Secrets, the controller's identity or
// files, or a value through templates, errors and the kubeseal API. Each
// attempt must be refused with a status naming the field, change no
// Secret outside the tenant's namespace, and leave no planted value in any
// encoding in statuses, Events, the DEBUG log, API replies or metrics.
// One set of controllers and namespaces serves every case.
func TestTenancy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env := newTenancyEnv(ctx, t)
	cn := &tenancyCanaries{
		victim: newCanary("Victim"), system: newCanary("System"), shared: newCanary("Shared"),
		victimKubeconfig: newCanary("VictimKubeconfig"), file: newCanary("File"),
		own: newCanary("Own"), ownPin: newNumericCanary(), serverToken: newCanary("Token"), echo: newCanary("Echo"),
		sealedStrict: newCanary("Strict"), sealedNamespace: newCanary("NamespaceWide"), sealedCluster: newCanary("ClusterWide"),
	}
	env.plant(ctx, t, cn)

	// The tenant's credentials are what the cases assume: its own
	// namespace, nothing else.
	if err := env.tenant.Get(ctx, client.ObjectKey{Namespace: env.victim, Name: "db-creds"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the tenant reads the victim's Secret directly (%v); the cases would prove nothing", err)
	}
	if err := env.tenant.Create(ctx, &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "tenant-made"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}}}); !apierrors.IsForbidden(err) {
		t.Fatalf("the tenant creates a ClusterSecretStore (%v); the cases would prove nothing", err)
	}

	outside := []string{env.victim, env.shared, env.ctlNS, "kube-system", "default"}
	before := secretVersions(ctx, t, outside...)
	ownBefore := secretVersions(ctx, t, env.tenantA)

	t.Run("stores", func(t *testing.T) { tenancyStoreAttacks(ctx, t, env, cn) })
	t.Run("templates", func(t *testing.T) { tenancyTemplateAttacks(ctx, t, env, cn) })
	t.Run("sealed", func(t *testing.T) { tenancySealedAttacks(ctx, t, env, cn) })
	t.Run("kubeseal API", func(t *testing.T) { tenancyAPIAttacks(ctx, t, env, cn) })

	t.Run("nothing outside the tenant changed", func(t *testing.T) {
		assertSameSecrets(t, before, secretVersions(ctx, t, outside...))
	})
	t.Run("the tenant's planted Secrets are untouched", func(t *testing.T) {
		after := secretVersions(ctx, t, env.tenantA)
		for k, v := range ownBefore {
			if after[k] != v {
				t.Errorf("Secret %s changed or vanished", k)
			}
		}
	})
	t.Run("no planted value anywhere", func(t *testing.T) {
		hs := env.haystacks(ctx, t)
		for _, c := range cn.all() {
			c.assertNowhere(t, hs...)
		}
	})
}

// plant creates the victims' Secrets and the tenant's own, and the
// ServiceAccounts and grants an admin would have set up.
func (env *tenancyEnv) plant(ctx context.Context, t *testing.T, cn *tenancyCanaries) {
	t.Helper()
	e := env.es
	secret := func(ns, name string, data map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	}
	e.create(ctx, t,
		secret(env.victim, "db-creds", map[string]string{"password": string(cn.victim)}),
		secret(env.victim, "kubeconfig", map[string]string{"config": kubeconfigWithToken(string(cn.victimKubeconfig))}),
		secret(env.victim, "victim-token", map[string]string{"token": string(cn.victim)}),
		secret(env.victim, "ca", map[string]string{"ca.crt": string(cluster.Config.CAData)}),
		secret("kube-system", env.systemSecret, map[string]string{"tls.key": string(cn.system)}),
		secret(env.shared, "other-app", map[string]string{"token": string(cn.shared)}),
		secret(env.tenantA, "db-creds", map[string]string{"password": string(cn.own), "pin": string(cn.ownPin)}),
		secret(env.tenantA, "server-token", map[string]string{"token": string(cn.serverToken)}),
	)
	// The tenant's "reader" may read its own namespace's Secrets, "pusher"
	// may write those of namespace shared (an admin's grant, for pushing
	// new keys there), and the victim's "victim-reader" reads the victim's.
	for _, objs := range [][]client.Object{
		storeRBAC(env.tenantA, env.tenantA, "reader", false),
		storeRBAC(env.tenantA, env.shared, "pusher", true),
		storeRBAC(env.victim, env.victim, "victim-reader", false),
	} {
		e.create(ctx, t, objs...)
	}
}
