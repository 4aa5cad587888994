package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/testcluster"
)

// The guide's shape: Secret backend-secrets, key postgres-db-uri, read from
// property db-uri of the remote Secret aura-production-postgres.
const (
	remoteSecretName = "aura-production-postgres"
	remoteProperty   = "db-uri"
	localTarget      = "backend-secrets"
	localKey         = "postgres-db-uri"
)

// remoteCluster is a second control plane the Kubernetes provider reaches by
// URL, as it would another cluster.
type remoteCluster struct {
	*testcluster.Cluster
}

// startRemoteCluster starts a second API server for this test alone and stops
// it when the test ends (after the test's own cleanups, which run first).
func startRemoteCluster(ctx context.Context, t *testing.T) *remoteCluster {
	t.Helper()
	start := time.Now()
	c, err := testcluster.Start(ctx, testcluster.Options{NoControllerManager: true})
	if err != nil {
		t.Fatalf("starting the remote cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the remote cluster: %v", err)
		}
	})
	t.Logf("remote cluster up in %s at %s", time.Since(start).Round(time.Millisecond), c.Config.Host)
	if bytes.Equal(c.Config.CAData, cluster.Config.CAData) || c.Config.Host == cluster.Config.Host {
		t.Fatal("the remote cluster shares the local cluster's address or CA; the test would prove nothing")
	}
	return &remoteCluster{c}
}

// source makes a namespace holding Secret aura-production-postgres with
// db-uri = value in the remote cluster. The local cluster gets a namespace of
// the same name with a decoy Secret of the same name, so a provider that
// read the local cluster instead would deliver the decoy.
func (r *remoteCluster) source(ctx context.Context, t *testing.T, e *esEnv, value string) (ns, decoy string) {
	t.Helper()
	ns = newNamespace(ctx, t)
	decoy = "postgresql://LOCAL-DECOY@" + ns
	e.create(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: remoteSecretName},
		StringData: map[string]string{remoteProperty: decoy}})
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: remoteSecretName},
			StringData: map[string]string{remoteProperty: value, "other": "not-asked-for"}},
	} {
		if err := r.Client.Create(ctx, o); err != nil {
			t.Fatalf("remote cluster: creating %T %s: %v", o, client.ObjectKeyFromObject(o), err)
		}
	}
	return ns, decoy
}

// token returns a TokenRequest token of ServiceAccount ns/sa of the remote
// cluster; when canRead, a Role and RoleBinding there let it read Secrets of ns.
func (r *remoteCluster) token(ctx context.Context, t *testing.T, ns, sa string, canRead bool) string {
	t.Helper()
	if canRead {
		r.allowRead(ctx, t, ns, sa)
	}
	cfg, err := r.ServiceAccountConfig(ctx, ns, sa)
	if err != nil {
		t.Fatalf("remote cluster: %v", err)
	}
	return cfg.BearerToken
}

// allowRead binds the remote ServiceAccount ns/sa to reading Secrets of ns.
func (r *remoteCluster) allowRead(ctx context.Context, t *testing.T, ns, sa string) {
	t.Helper()
	for _, o := range storeRBAC(ns, ns, sa, false) {
		if err := r.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("remote cluster: creating %T %s: %v", o, client.ObjectKeyFromObject(o), err)
		}
	}
}

func (r *remoteCluster) setValue(ctx context.Context, t *testing.T, ns, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"stringData":{%q:%q}}`, remoteProperty, value)
	if err := r.Client.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: remoteSecretName}},
		client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatalf("remote cluster: changing %s/%s: %v", ns, remoteSecretName, err)
	}
}

// remoteCreds is how the store authenticates to the remote API server:
// a bearer token, or else a client certificate and key (PEM).
type remoteCreds struct {
	token     string
	cert, key []byte
}

// How the store is given the remote API server's CA.
const (
	caInline    = "caBundle"
	caConfigMap = "caProvider ConfigMap"
	caSecret    = "caProvider Secret"
)

// remoteStore returns the objects, all in app, of a SecretStore named name
// that reads remoteNS of the API server at url: a Secret with the
// credentials, a ConfigMap or Secret with the CA when caFrom says so, and
// the SecretStore itself.
func remoteStore(app, name, url, remoteNS string, creds remoteCreds, ca []byte, caFrom string) []client.Object {
	credSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: name + "-credentials"}}
	auth := &esv1.KubernetesAuth{}
	if creds.token != "" {
		credSecret.Data = map[string][]byte{"token": []byte(creds.token)}
		auth.Token = &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: credSecret.Name, Key: "token"}}
	} else {
		credSecret.Type = corev1.SecretTypeTLS
		credSecret.Data = map[string][]byte{corev1.TLSCertKey: creds.cert, corev1.TLSPrivateKeyKey: creds.key}
		auth.Cert = &esv1.CertAuth{
			ClientCert: esv1.SecretKeySelector{Name: credSecret.Name, Key: corev1.TLSCertKey},
			ClientKey:  esv1.SecretKeySelector{Name: credSecret.Name, Key: corev1.TLSPrivateKeyKey},
		}
	}
	objs := []client.Object{credSecret}
	server := esv1.KubernetesServer{URL: url}
	caMeta := metav1.ObjectMeta{Namespace: app, Name: name + "-ca"}
	switch caFrom {
	case caInline:
		server.CABundle = base64.StdEncoding.EncodeToString(ca)
	case caConfigMap:
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: caMeta, Data: map[string]string{"ca.crt": string(ca)}})
		server.CAProvider = &esv1.CAProvider{Type: "ConfigMap", Name: caMeta.Name, Key: "ca.crt"}
	case caSecret:
		objs = append(objs, &corev1.Secret{ObjectMeta: caMeta, Data: map[string][]byte{"ca.crt": ca}})
		server.CAProvider = &esv1.CAProvider{Type: "Secret", Name: caMeta.Name, Key: "ca.crt"}
	default:
		panic("remoteStore: unknown CA source " + caFrom)
	}
	return append(objs, &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: name},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
			Server: server, Auth: auth, RemoteNamespace: remoteNS,
		}}},
	})
}

// guideES is the guide's ExternalSecret against store, refreshed every interval.
func guideES(app, store string, interval time.Duration) *esv1.ExternalSecret {
	es := newES(app, localTarget, store, "", "", entry(localKey, remoteSecretName, remoteProperty))
	es.Spec.RefreshInterval = esDuration(interval)
	return es
}

// deleteOnCleanup removes objs when the test ends, so that nothing keeps
// polling the remote cluster once it is stopped.
func deleteOnCleanup(t *testing.T, e *esEnv, objs ...client.Object) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, o := range objs {
			if err := e.client.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
				t.Logf("cleanup: deleting %T %s: %v", o, client.ObjectKeyFromObject(o), err)
			}
		}
	})
}

// waitStore waits until the SecretStore's Ready condition has reason and
// returns its message.
func (e *esEnv) waitStore(ctx context.Context, t *testing.T, ns, name string, status corev1.ConditionStatus, reason string) string {
	t.Helper()
	store := &esv1.SecretStore{}
	var last esv1.SecretStoreStatusCondition
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, store); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, c := range store.Status.Conditions {
			if c.Type == esv1.SecretStoreReady {
				last = c
				return c.Status == status && c.Reason == reason, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("waiting for SecretStore %s/%s Ready=%s %s: %v; last seen %+v", ns, name, status, reason, err, last)
	}
	return last.Message
}

// assertNoLeak fails when any of secrets shows up in the ExternalSecrets,
// SecretStores or events of ns, or in the controllers' logs.
func (e *esEnv) assertNoLeak(ctx context.Context, t *testing.T, ns string, secrets map[string]string) {
	t.Helper()
	var ess esv1.ExternalSecretList
	var stores esv1.SecretStoreList
	var events corev1.EventList
	texts := map[string]string{"logs": e.logs.String()}
	for what, list := range map[string]client.ObjectList{"ExternalSecrets": &ess, "SecretStores": &stores, "events": &events} {
		if err := e.client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatalf("listing %s: %v", what, err)
		}
		b, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		texts[what] = string(b)
	}
	for what, text := range texts {
		for name, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("the %s reached the %s of namespace %s", name, what, ns)
			}
		}
	}
}

// TestExternalSecretKubernetesRemoteCluster points the Kubernetes provider at
// a second, separately started API server by server.url, with that server's
// CA given in the store (inline, or through a ConfigMap or Secret), and
// authenticates with a ServiceAccount's bearer token or with a client
// certificate. The guide's ExternalSecret must sync the remote value (never
// the local decoy of the same name) and follow a change of it; a token
// without RBAC in the remote namespace and a wrong CA must fail visibly,
// without leaking values or credentials.
func TestExternalSecretKubernetesRemoteCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	remote := startRemoteCluster(ctx, t)
	url, remoteCA := remote.Config.Host, remote.Config.CAData
	// The only client certificate to be had is the admin's (system:masters):
	// envtest keeps its client CA key to itself, and signing a CSR needs the
	// kube-controller-manager this cluster runs without.
	adminCert := remoteCreds{cert: remote.Config.CertData, key: remote.Config.KeyData}
	if len(adminCert.cert) == 0 || len(adminCert.key) == 0 || len(remoteCA) == 0 {
		t.Fatalf("the remote cluster's admin connection has no client certificate or CA: %d-byte cert, %d-byte key, %d-byte CA",
			len(adminCert.cert), len(adminCert.key), len(remoteCA))
	}

	t.Run("sync", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			token  bool // a ServiceAccount token; else the client certificate
			caFrom string
		}{
			{name: "token/caBundle", token: true, caFrom: caInline},
			{name: "token/caProvider-Secret", token: true, caFrom: caSecret},
			{name: "cert/caProvider-ConfigMap", token: false, caFrom: caConfigMap},
		} {
			t.Run(tc.name, func(t *testing.T) {
				first := "postgresql://app:first@remote-db/aura-" + strings.ReplaceAll(tc.name, "/", "-")
				remoteNS, decoy := remote.source(ctx, t, e, first)
				creds := adminCert
				if tc.token {
					creds = remoteCreds{token: remote.token(ctx, t, remoteNS, "eso-reader", true)}
				}
				app := newNamespace(ctx, t)
				objs := remoteStore(app, "remote", url, remoteNS, creds, remoteCA, tc.caFrom)
				es := guideES(app, "remote", 2*time.Second)
				e.create(ctx, t, append(objs, es)...)
				deleteOnCleanup(t, e, es, objs[len(objs)-1])

				if msg := e.waitStore(ctx, t, app, "remote", corev1.ConditionTrue, esv1.ReasonStoreValid); msg != "store validated" {
					t.Errorf("SecretStore message = %q", msg)
				}
				got := e.waitReady(ctx, t, app, localTarget, corev1.ConditionTrue, esv1.ReasonSecretSynced)
				s := e.waitSecret(ctx, t, app, localTarget, nil)
				switch v := string(s.Data[localKey]); {
				case v == decoy:
					t.Fatalf("Secret %s/%s holds the LOCAL cluster's decoy: the provider ignored server.url", app, localTarget)
				case v != first || len(s.Data) != 1:
					t.Fatalf("Secret %s/%s data = %q, want only %s = %q from the remote cluster", app, localTarget, s.Data, localKey, first)
				}
				if !metav1.IsControlledBy(s, got) {
					t.Errorf("Secret not controlled by its ExternalSecret: %v", s.OwnerReferences)
				}

				// The remote value changes; the 2 s refresh brings it over.
				rotated := strings.Replace(first, ":first@", ":rotated@", 1)
				remote.setValue(ctx, t, remoteNS, rotated)
				e.waitSecret(ctx, t, app, localTarget, func(s *corev1.Secret) bool {
					return string(s.Data[localKey]) == rotated
				})
				e.waitReady(ctx, t, app, localTarget, corev1.ConditionTrue, esv1.ReasonSecretSynced)
				e.assertNoLeak(ctx, t, app, map[string]string{
					"remote value": first, "rotated remote value": rotated, "bearer token": creds.token, "client key": string(creds.key),
				})
			})
		}
	})

	t.Run("failures", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			// setup returns the store's credentials and CA, and a function
			// that repairs the fault on the remote side (nil when only the
			// store itself could be fixed).
			setup     func(t *testing.T, remoteNS string) (creds remoteCreds, ca []byte, repair func())
			storeWant []string // all in the SecretStore's message
			esWant    []string // all in the ExternalSecret's message
		}{
			{
				name: "token without RBAC in the remote namespace",
				setup: func(t *testing.T, remoteNS string) (remoteCreds, []byte, func()) {
					tok := remote.token(ctx, t, remoteNS, "outsider", false)
					return remoteCreds{token: tok}, remoteCA, func() { remote.allowRead(ctx, t, remoteNS, "outsider") }
				},
				storeWant: []string{`the store's identity "system:serviceaccount:`, `:outsider" may not get Secrets in namespace`},
				// The remote server's own message stays out: status only.
				esWant: []string{"kubernetes: reading Secret ", "the server answered 403 Forbidden"},
			},
			{
				name: "client certificate with the local cluster's CA",
				setup: func(t *testing.T, remoteNS string) (remoteCreds, []byte, func()) {
					return adminCert, cluster.Config.CAData, nil
				},
				storeWant: []string{"the server's TLS certificate was not accepted"},
				esWant:    []string{"the server's TLS certificate was not accepted"},
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				value := "postgresql://app:never-to-arrive@remote-db/aura"
				remoteNS, _ := remote.source(ctx, t, e, value)
				creds, ca, repair := tc.setup(t, remoteNS)
				app := newNamespace(ctx, t)
				objs := remoteStore(app, "remote", url, remoteNS, creds, ca, caInline)
				es := guideES(app, "remote", time.Hour)
				e.create(ctx, t, append(objs, es)...)
				deleteOnCleanup(t, e, es, objs[len(objs)-1])

				storeMsg := e.waitStore(ctx, t, app, "remote", corev1.ConditionFalse, esv1.ReasonStoreValidationFailed)
				for _, w := range tc.storeWant {
					if !strings.Contains(storeMsg, w) {
						t.Errorf("SecretStore message does not say %q: %q", w, storeMsg)
					}
				}
				got := e.waitReady(ctx, t, app, localTarget, corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
				msg := readyCondition(got).Message
				t.Logf("SecretStore: %s\nExternalSecret: %s", storeMsg, msg)
				for _, w := range append(tc.esWant, "SecretStore/"+app+"/remote", "secretKey "+localKey) {
					if !strings.Contains(msg, w) {
						t.Errorf("ExternalSecret message does not say %q: %q", w, msg)
					}
				}
				s := &corev1.Secret{}
				if err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: localTarget}, s); !apierrors.IsNotFound(err) {
					t.Errorf("Secret %s/%s should not exist after a failed first sync: err=%v data keys %v", app, localTarget, err, keysOf(s.Data))
				}
				e.assertNoLeak(ctx, t, app, map[string]string{
					"remote value": value, "bearer token": creds.token, "client key": string(creds.key),
				})

				if repair == nil {
					return
				}
				// Once the remote side grants access, a force-sync delivers.
				repair()
				e.forceSync(ctx, t, got)
				e.waitReady(ctx, t, app, localTarget, corev1.ConditionTrue, esv1.ReasonSecretSynced)
				e.waitSecret(ctx, t, app, localTarget, func(s *corev1.Secret) bool { return string(s.Data[localKey]) == value })
			})
		}
	})
}
