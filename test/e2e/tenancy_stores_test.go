package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
)

// recorder is a tenant's HTTP server: it keeps every request it gets and
// answers each with a 500 whose body echoes the request's headers (behind
// a marker), as a hostile or careless server would.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func startRecorder(t *testing.T, tls bool, marker canary) *recorder {
	t.Helper()
	r := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var headers strings.Builder
		for k, v := range req.Header {
			fmt.Fprintf(&headers, "%s=%s; ", k, strings.Join(v, ","))
		}
		r.mu.Lock()
		r.seen = append(r.seen, fmt.Sprintf("%s %s headers[%s] body[%s]", req.Method, req.URL, headers.String(), body))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		echo, _ := json.Marshal(fmt.Sprintf("%s you sent %s", marker, headers.String()))
		fmt.Fprintf(w, `{"errors":[%s],"message":%s,"kind":"Status"}`, echo, echo)
	})
	if tls {
		r.Server = httptest.NewTLSServer(h)
	} else {
		r.Server = httptest.NewServer(h)
	}
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// caPEM is the recorder's TLS certificate, for a store's caBundle.
func (r *recorder) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate().Raw})
}

func apiHost() string {
	if strings.Contains(cluster.Config.Host, "://") {
		return cluster.Config.Host
	}
	return "https://" + cluster.Config.Host
}

// kubeconfig is a kubeconfig for the test cluster with the given user entry (JSON).
func kubeconfig(user string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Config","current-context":"c",
"clusters":[{"name":"c","cluster":{"server":%q,"certificate-authority-data":%q}}],
"contexts":[{"name":"c","context":{"cluster":"c","user":"u"}}],
"users":[{"name":"u","user":%s}]}`, apiHost(), base64.StdEncoding.EncodeToString(cluster.Config.CAData), user)
}

func kubeconfigWithToken(token string) string { return kubeconfig(fmt.Sprintf(`{"token":%q}`, token)) }

func store(ns, name string, p *esv1.SecretStoreProvider) *esv1.SecretStore {
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{Provider: p}}
}

// copyES asks store (of kind) for property of remote Secret/key into a Secret named like the ExternalSecret.
func copyES(ns, name, storeName, kind, key, property string) *esv1.ExternalSecret {
	es := newES(ns, name, storeName, "", "", entry("value", key, property))
	es.Spec.SecretStoreRef.Kind = kind
	return es
}

// pushOne is a PushSecret that sends key of the namespace's Secret secret
// through store to remoteKey (and property, when not "").
func pushOne(ns, name, store, secret, key, remoteKey, property string) *esv1alpha1.PushSecret {
	return &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1alpha1.PushSecretSpec{
		SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: store, Kind: esv1.SecretStoreKind}},
		Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: secret}},
		Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: key,
			RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: remoteKey, Property: property}}}},
	}}
}

func sel(name, key string, ns *string) esv1.SecretKeySelector {
	return esv1.SecretKeySelector{Name: name, Key: key, Namespace: ns}
}

// refusedStore checks the store reports Ready=False as a configuration
// error whose message names each field.
func (env *tenancyEnv) refusedStore(ctx context.Context, t *testing.T, ns, name string, fields ...string) {
	t.Helper()
	c := env.storeCondition(ctx, t, ns, name, corev1.ConditionFalse)
	t.Logf("store %s: %s: %s", name, c.Reason, c.Message)
	if c.Reason != esv1.ReasonInvalidProviderConfig && c.Reason != esv1.ReasonInvalidStoreConfig {
		t.Errorf("store %s/%s: reason %q (%s), want %s", ns, name, c.Reason, c.Message, esv1.ReasonInvalidProviderConfig)
	}
	mentions(t, "store "+name+" message", c.Message, fields...)
}

// tenancyStoreAttacks: stores and references that would act with the
// controller's identity or files, or reach another namespace.
func tenancyStoreAttacks(ctx context.Context, t *testing.T, env *tenancyEnv, cn *tenancyCanaries) {
	a, victim := env.tenantA, env.victim
	vaultSeen := startRecorder(t, false, cn.echo)
	vaultEcho := startRecorder(t, false, cn.echo)
	kubeEcho := startRecorder(t, true, cn.echo)
	dir := t.TempDir()
	marker := filepath.Join(dir, "exec-ran")
	tokenFile := filepath.Join(dir, "controller-token")
	if err := os.WriteFile(tokenFile, []byte(cn.file), 0o600); err != nil {
		t.Fatal(err)
	}
	execUser := fmt.Sprintf(`{"exec":{"apiVersion":"client.authentication.k8s.io/v1","command":"/bin/sh","args":["-c",%q],"interactiveMode":"Never"}}`,
		"touch "+marker+`; echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'`)
	tokenSel := func(ns *string) *esv1.KubernetesAuth {
		return &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: sel("server-token", "token", ns)}}
	}
	victimNS := &victim

	// The tenant's own objects, made with its own credentials.
	env.tenantCreate(ctx, t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "kubeconfig-exec"}, StringData: map[string]string{"config": kubeconfig(execUser)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "kubeconfig-file"}, StringData: map[string]string{"config": kubeconfig(fmt.Sprintf(`{"tokenFile":%q}`, tokenFile))}},
	)
	// Admin-made: a store in the victim's namespace, and a cluster store only tenant-b may use.
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "only-b-" + env.tenantB},
		Spec: esv1.SecretStoreSpec{Conditions: []esv1.ClusterSecretStoreCondition{{Namespaces: []string{env.tenantB}}},
			Provider: kubeProvider(victim, "victim-reader", victimNS)}}
	env.es.create(ctx, t, store(victim, "victim-store", kubeProvider(victim, "victim-reader", nil)), css)
	t.Cleanup(func() { _ = env.es.client.Delete(context.Background(), css) })

	type attack struct {
		name, doc string
		stores    []client.Object
		es        []*esv1.ExternalSecret
		check     func(t *testing.T)
	}
	kube := func(p esv1.KubernetesProvider) *esv1.SecretStoreProvider {
		return &esv1.SecretStoreProvider{Kubernetes: &p}
	}
	attacks := []attack{
		{name: "1 kubernetes store without auth", doc: "no auth, authRef or server.url would act as the controller: copy the victim's Secret and kube-system's sealing key",
			stores: []client.Object{store(a, "noauth-victim", kube(esv1.KubernetesProvider{RemoteNamespace: victim})),
				store(a, "noauth-system", kube(esv1.KubernetesProvider{RemoteNamespace: "kube-system"}))},
			es: []*esv1.ExternalSecret{copyES(a, "steal-victim", "noauth-victim", "", "db-creds", "password"),
				copyES(a, "steal-system", "noauth-system", "", env.systemSecret, "tls.key")},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "noauth-victim", "spec.provider.kubernetes.auth")
				env.refusedStore(ctx, t, a, "noauth-system", "spec.provider.kubernetes.auth")
			}},
		{name: "2 push through a store without auth", doc: "a PushSecret through the controller's identity overwrites, then deletes, the victim's Secret",
			check: func(t *testing.T) {
				ps := pushOne(a, "overwrite-victim", "noauth-victim", "db-creds", "password", "db-creds", "password")
				ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
				env.pushAndDelete(ctx, t, ps)
				env.victimIntact(ctx, t, victim, "db-creds", "password", cn.victim)
			}},
		{name: "2b push overwrites a Secret it did not create", doc: "the tenant may write new keys into namespace shared, not replace or delete Secrets already there",
			stores: []client.Object{store(a, "pusher", kubeProvider(env.shared, "pusher", nil))},
			check: func(t *testing.T) {
				ps := pushOne(a, "overwrite-shared", "pusher", "db-creds", "password", "other-app", "token")
				ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
				env.pushAndDelete(ctx, t, ps)
				env.victimIntact(ctx, t, env.shared, "other-app", "token", cn.shared)
			}},
		{name: "2c push a Secret of another namespace", doc: "selector.secret.name names a Secret that exists only in the victim's namespace",
			check: func(t *testing.T) {
				ps := pushOne(a, "push-foreign", "pusher", "victim-token", "token", "from-victim", "")
				env.tenantCreate(ctx, t, ps)
				env.pushFailed(ctx, t, a, ps.Name)
				assertNoSecret(ctx, t, env.shared, "from-victim")
			}},
		{name: "3 vault kubernetes auth without a ServiceAccount", doc: "auth.kubernetes with neither serviceAccountRef nor secretRef would log in with the controller's token, at the tenant's server",
			stores: []client.Object{store(a, "vault-ambient", &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
				Server: vaultSeen.URL, Path: ptrTo("secret"), Version: "v2",
				Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Role: "tenant", Path: "kubernetes"}}}})},
			es: []*esv1.ExternalSecret{copyES(a, "vault-ambient", "vault-ambient", "", "db", "password")},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "vault-ambient", "spec.provider.vault.auth.kubernetes")
				for _, r := range vaultSeen.requests() {
					low := strings.ToLower(r)
					if strings.Contains(low, "x-vault-token=") || strings.Contains(low, "authorization=") || strings.Contains(low, "jwt") {
						t.Errorf("the tenant's server got a request carrying a token: %.200s", r)
					}
				}
			}},
		{name: "4a aws without credentials", doc: "no auth would use the controller's default credential chain",
			stores: []client.Object{store(a, "aws-ambient", &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1"}})},
			es:     []*esv1.ExternalSecret{copyES(a, "aws-ambient", "aws-ambient", "", "db", "")},
			check:  func(t *testing.T) { env.refusedStore(ctx, t, a, "aws-ambient", "spec.provider.aws.auth") }},
		{name: "4b gcp without credentials", doc: "no auth would use the controller's application default credentials",
			stores: []client.Object{store(a, "gcp-ambient", &esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: "tenant-project"}})},
			es:     []*esv1.ExternalSecret{copyES(a, "gcp-ambient", "gcp-ambient", "", "db", "")},
			check:  func(t *testing.T) { env.refusedStore(ctx, t, a, "gcp-ambient", "spec.provider.gcpsm.auth") }},
		{name: "4c azure managed identity", doc: "authType ManagedIdentity is the controller's identity",
			stores: []client.Object{store(a, "azure-ambient", &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{
				VaultURL: ptrTo("https://tenant.vault.azure.net"), AuthType: ptrTo("ManagedIdentity")}})},
			es:    []*esv1.ExternalSecret{copyES(a, "azure-ambient", "azure-ambient", "", "db", "")},
			check: func(t *testing.T) { env.refusedStore(ctx, t, a, "azure-ambient", "spec.provider.azurekv.authType") }},
		{name: "12 store of the same name in another namespace", doc: "secretStoreRef names victim-store, which exists only in the victim's namespace",
			es: []*esv1.ExternalSecret{copyES(a, "cross-ref", "victim-store", esv1.SecretStoreKind, "db-creds", "password")},
			check: func(t *testing.T) {
				if c := env.storeCondition(ctx, t, victim, "victim-store", corev1.ConditionTrue); c.Status != corev1.ConditionTrue {
					t.Errorf("the victim's store is not usable, so the case proves nothing: %+v", c)
				}
				mentions(t, "ExternalSecret message", env.esFailed(ctx, t, a, "cross-ref").Message, "victim-store")
			}},
		{name: "13 cluster store whose conditions allow only tenant-b", doc: "tenant-a uses a ClusterSecretStore meant for tenant-b",
			es: []*esv1.ExternalSecret{copyES(a, "not-allowed", css.Name, esv1.ClusterSecretStoreKind, "db-creds", "password")},
			check: func(t *testing.T) {
				// tenant-b may: the store works.
				env.es.create(ctx, t, copyES(env.tenantB, "allowed", css.Name, esv1.ClusterSecretStoreKind, "db-creds", "password"))
				env.es.waitSecret(ctx, t, env.tenantB, "allowed", func(s *corev1.Secret) bool { return string(s.Data["value"]) == string(cn.victim) })
				mentions(t, "ExternalSecret message", env.esFailed(ctx, t, a, "not-allowed").Message, css.Name)
			}},
		{name: "14 own ServiceAccount reading kube-system", doc: "remoteNamespace kube-system with the tenant's own ServiceAccount: RBAC says no",
			stores: []client.Object{store(a, "own-system", kubeProvider("kube-system", "reader", nil))},
			es:     []*esv1.ExternalSecret{copyES(a, "own-system", "own-system", "", env.systemSecret, "tls.key")}},
		{name: "15 authRef to another namespace's kubeconfig", doc: "authRef.namespace points at the victim's kubeconfig Secret",
			stores: []client.Object{store(a, "authref-victim", kube(esv1.KubernetesProvider{AuthRef: ptrTo(sel("kubeconfig", "config", victimNS)), RemoteNamespace: victim}))},
			es:     []*esv1.ExternalSecret{copyES(a, "authref-victim", "authref-victim", "", "db-creds", "password")},
			check:  func(t *testing.T) { env.refusedStore(ctx, t, a, "authref-victim", "spec.provider.kubernetes.authRef") }},
		{name: "16a kubeconfig exec plugin", doc: "the tenant's kubeconfig runs a command in the controller (it would create a marker file)",
			stores: []client.Object{store(a, "authref-exec", kube(esv1.KubernetesProvider{AuthRef: ptrTo(sel("kubeconfig-exec", "config", nil)), RemoteNamespace: victim}))},
			es:     []*esv1.ExternalSecret{copyES(a, "authref-exec", "authref-exec", "", "db-creds", "password")},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "authref-exec", "spec.provider.kubernetes.authRef")
				if _, err := os.Stat(marker); err == nil {
					t.Error("the kubeconfig's exec command ran in the controller")
				}
			}},
		{name: "16b kubeconfig tokenFile", doc: "the tenant's kubeconfig reads a file of the controller's as its token",
			stores: []client.Object{store(a, "authref-file", kube(esv1.KubernetesProvider{AuthRef: ptrTo(sel("kubeconfig-file", "config", nil)), RemoteNamespace: victim}))},
			es:     []*esv1.ExternalSecret{copyES(a, "authref-file", "authref-file", "", "db-creds", "password")},
			check:  func(t *testing.T) { env.refusedStore(ctx, t, a, "authref-file", "spec.provider.kubernetes.authRef") }},
		{name: "17a caProvider in another namespace", doc: "server.caProvider.namespace on a namespaced store",
			stores: []client.Object{store(a, "ns-ca", kube(esv1.KubernetesProvider{RemoteNamespace: a, Auth: tokenSel(nil),
				Server: esv1.KubernetesServer{URL: apiHost(), CAProvider: &esv1.CAProvider{Type: "Secret", Name: "ca", Key: "ca.crt", Namespace: victimNS}}}))},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "ns-ca", "spec.provider.kubernetes.server.caProvider.namespace")
			}},
		{name: "17b token secretRef in another namespace", doc: "auth.token.bearerToken.namespace on a namespaced store",
			stores: []client.Object{store(a, "ns-token", kube(esv1.KubernetesProvider{RemoteNamespace: victim, Auth: &esv1.KubernetesAuth{
				Token: &esv1.TokenAuth{BearerToken: sel("victim-token", "token", victimNS)}},
				Server: esv1.KubernetesServer{URL: apiHost(), CABundle: base64.StdEncoding.EncodeToString(cluster.Config.CAData)}}))},
			es: []*esv1.ExternalSecret{copyES(a, "ns-token", "ns-token", "", "db-creds", "password")},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "ns-token", "spec.provider.kubernetes.auth.token.bearerToken.namespace")
			}},
		{name: "17c serviceAccount in another namespace", doc: "auth.serviceAccount.namespace names the victim's ServiceAccount",
			stores: []client.Object{store(a, "ns-sa", kubeProvider(victim, "victim-reader", victimNS))},
			es:     []*esv1.ExternalSecret{copyES(a, "ns-sa", "ns-sa", "", "db-creds", "password")},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "ns-sa", "spec.provider.kubernetes.auth.serviceAccount.namespace")
			}},
		{name: "17d vault tokenSecretRef in another namespace", doc: "auth.tokenSecretRef.namespace on a namespaced Vault store",
			stores: []client.Object{store(a, "ns-vault", &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: vaultSeen.URL, Path: ptrTo("secret"), Version: "v2",
				Auth: &esv1.VaultAuth{TokenSecretRef: ptrTo(sel("victim-token", "token", victimNS))}}})},
			check: func(t *testing.T) {
				env.refusedStore(ctx, t, a, "ns-vault", "spec.provider.vault.auth.tokenSecretRef.namespace")
			}},
		{name: "20a vault server echoing headers", doc: "the tenant's Vault answers 500 with the request's headers (the token) in the body",
			stores: []client.Object{store(a, "vault-echo", &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: vaultEcho.URL, Path: ptrTo("secret"), Version: "v2",
				Auth: &esv1.VaultAuth{TokenSecretRef: ptrTo(sel("server-token", "token", nil))}}})},
			es:    []*esv1.ExternalSecret{copyES(a, "vault-echo", "vault-echo", "", "db", "password")},
			check: func(t *testing.T) { env.statusCodeOnly(ctx, t, a, "vault-echo", vaultEcho) }},
		{name: "20b kubernetes server echoing headers", doc: "the tenant's API server answers 500 with the request's headers (the bearer token) in the body",
			stores: []client.Object{store(a, "kube-echo", kube(esv1.KubernetesProvider{RemoteNamespace: a, Auth: tokenSel(nil),
				Server: esv1.KubernetesServer{URL: kubeEcho.URL, CABundle: base64.StdEncoding.EncodeToString(kubeEcho.caPEM())}}))},
			es:    []*esv1.ExternalSecret{copyES(a, "kube-echo", "kube-echo", "", "db-creds", "password")},
			check: func(t *testing.T) { env.statusCodeOnly(ctx, t, a, "kube-echo", kubeEcho) }},
	}
	for _, at := range attacks {
		env.tenantCreate(ctx, t, at.stores...)
		for _, es := range at.es {
			env.tenantCreate(ctx, t, es)
		}
	}
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			t.Parallel()
			t.Log(at.doc)
			if at.check != nil {
				at.check(t)
			}
			for _, es := range at.es {
				env.esFailed(ctx, t, a, es.Name)
				assertNoSecret(ctx, t, a, es.Name)
			}
		})
	}
	// Wait for the parallel cases, then make sure no exec ran late.
	t.Run("exec never ran", func(t *testing.T) {
		if _, err := os.Stat(marker); err == nil {
			t.Error("the kubeconfig's exec command ran in the controller")
		}
	})
}

// pushAndDelete creates the PushSecret as the tenant, waits for it to
// fail, then deletes it (its deletionPolicy would delete what it pushed).
func (env *tenancyEnv) pushAndDelete(ctx context.Context, t *testing.T, ps *esv1alpha1.PushSecret) {
	t.Helper()
	env.tenantCreate(ctx, t, ps)
	env.pushFailed(ctx, t, ps.Namespace, ps.Name)
	if err := env.tenant.Delete(ctx, ps); err != nil {
		t.Fatalf("the tenant deleting its PushSecret: %v", err)
	}
	env.es.waitGone(ctx, t, ps, 30*time.Second)
}

// victimIntact fails unless ns/name still holds want under key.
func (env *tenancyEnv) victimIntact(ctx context.Context, t *testing.T, ns, name, key string, want canary) {
	t.Helper()
	s := &corev1.Secret{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		t.Errorf("Secret %s/%s: %v", ns, name, err)
		return
	}
	if string(s.Data[key]) != string(want) || len(s.Data) != 1 {
		t.Errorf("Secret %s/%s was changed: keys %v", ns, name, keysOf(s.Data))
	}
}

// statusCodeOnly checks that the server was asked, and that the store's or
// ExternalSecret's status carries the reply's status code but none of its
// body (the echo marker is among the canaries looked for at the end too).
func (env *tenancyEnv) statusCodeOnly(ctx context.Context, t *testing.T, ns, name string, srv *recorder) {
	t.Helper()
	// The first failure may be the store not yet in the controller's cache;
	// the retry that reaches the server must then name its status code.
	var msgs, seen string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		esCond := env.esFailed(ctx, t, ns, name)
		st := &esv1.SecretStore{}
		if err := env.es.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, st); err != nil {
			return false, err
		}
		msgs = esCond.Message
		for _, c := range st.Status.Conditions {
			msgs += "\n" + c.Message
		}
		seen += "\n" + msgs
		return len(srv.requests()) > 0 && strings.Contains(msgs, "500"), nil
	})
	if len(srv.requests()) == 0 {
		t.Errorf("the server was never asked, so the case proves nothing; statuses: %s", msgs)
	}
	if err != nil || !strings.Contains(msgs, "500") {
		t.Errorf("no status names the reply's status code 500: %s", msgs)
	}
	if strings.Contains(seen, "you sent") {
		t.Errorf("a status carries the reply's body: %s", msgs)
	}
}
