package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/manager"
	providerazure "github.com/keyward/keyward/internal/provider/azure"
	azurefake "github.com/keyward/keyward/test/fakes/azure"
)

// esEnv is one in-process `keyward controller` against the test cluster,
// shared by the ExternalSecret tests (each works in its own namespaces).
type esEnv struct {
	client   client.Client
	registry *prometheus.Registry
	logs     *lockedBuffer
	// azure is the Key Vault stand-in every azurekv store reaches: the
	// controllers' Azure provider sends all its requests to it.
	azure *azurefake.Server
}

var (
	esEnvOnce sync.Once
	esEnvVal  *esEnv
	esEnvErr  error
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) add(s string) {
	b.mu.Lock()
	b.buf.WriteString(s + "\n")
	b.mu.Unlock()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// externalSecretsEnv starts the controllers once for the package.
func externalSecretsEnv(t *testing.T) *esEnv {
	t.Helper()
	esEnvOnce.Do(func() {
		logs := &lockedBuffer{}
		ctrl.SetLogger(funcr.NewJSON(logs.add, funcr.Options{Verbosity: 1}))
		scheme, err := manager.Scheme()
		if err != nil {
			esEnvErr = err
			return
		}
		c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
		if err != nil {
			esEnvErr = err
			return
		}
		reg := prometheus.NewRegistry()
		cfg := *cluster.Config
		cfg.QPS, cfg.Burst = 200, 400
		// No Key Vault runs here: the Azure provider talks to a wire-level
		// stand-in (TLS, Key Vault's REST protocol and login challenge).
		azure, err := azurefake.Start(azureTenant)
		if err != nil {
			esEnvErr = err
			return
		}
		providers := manager.DefaultProviders(&cfg)
		for i, p := range providers {
			if _, ok := p.(*providerazure.Provider); ok {
				providers[i] = &providerazure.Provider{Transport: azure.Transport()}
			}
		}
		// The manager runs until the package's tests are done.
		ctx, cancel := context.WithCancel(context.Background())
		mgr, err := manager.New(ctx, manager.Options{
			Config: &cfg, MetricsAddr: "0", HealthAddr: "0", Registry: reg, Workers: 10, Providers: providers,
			// The SealedSecret tests run their own controllers.
			// Nor reload: its tests run their own, limited to their namespaces.
			Enabled: map[string]bool{"sealedsecret": false, "reload": false},
		})
		if err != nil {
			cancel()
			esEnvErr = err
			return
		}
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			if err := mgr.Start(ctx); err != nil {
				logs.add("manager stopped: " + err.Error())
			}
		}()
		stopAtEnd = append(stopAtEnd, func() { cancel(); <-stopped })
		esEnvVal = &esEnv{client: c, registry: reg, logs: logs, azure: azure}
	})
	if esEnvErr != nil {
		t.Fatalf("starting the controllers: %v", esEnvErr)
	}
	return esEnvVal
}

// metricsText renders every metric the controllers registered.
func (e *esEnv) metricsText(t *testing.T) string {
	t.Helper()
	return metricsText(t, e.registry)
}

// metricsText renders every metric g gathers in the text exposition format.
func metricsText(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, f := range families {
		if err := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain)).Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

// eventually polls cond until it holds; the timeout is only a backstop
// against hanging, generous enough never to decide a passing run.
func eventually(ctx context.Context, t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, cond)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// readyCondition returns the ExternalSecret's Ready condition (zero when none).
func readyCondition(es *esv1.ExternalSecret) esv1.ExternalSecretStatusCondition {
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ExternalSecretReady {
			return c
		}
	}
	return esv1.ExternalSecretStatusCondition{}
}

// waitReady waits until the ExternalSecret reports Ready with reason, at
// generation or later, and returns it.
func (e *esEnv) waitReady(ctx context.Context, t *testing.T, ns, name string, status corev1.ConditionStatus, reason string) *esv1.ExternalSecret {
	t.Helper()
	es := &esv1.ExternalSecret{}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, es); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		c := readyCondition(es)
		return c.Status == status && c.Reason == reason, nil
	})
	if err != nil {
		t.Fatalf("waiting for ExternalSecret %s/%s Ready=%s %s: %v; last seen %+v", ns, name, status, reason, err, readyCondition(es))
	}
	return es
}

// waitSecret waits until the Secret exists and check accepts it.
func (e *esEnv) waitSecret(ctx context.Context, t *testing.T, ns, name string, check func(*corev1.Secret) bool) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	eventually(ctx, t, fmt.Sprintf("Secret %s/%s", ns, name), func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return check == nil || check(s), nil
	})
	return s
}

func (e *esEnv) create(ctx context.Context, t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := e.client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, client.ObjectKeyFromObject(o), err)
		}
	}
}

// applyGuide applies the production guide's v1beta1 ExternalSecret, word
// for word but for its store, key and namespace; a refresh other than ""
// adds the refreshInterval line the guide leaves to its default.
func (e *esEnv) applyGuide(ctx context.Context, t *testing.T, ns, store, key, refresh string) {
	t.Helper()
	interval := ""
	if refresh != "" {
		interval = "\n  refreshInterval: " + refresh
	}
	guide := fmt.Sprintf(`apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: backend-secrets
  namespace: %s
spec:%s
  secretStoreRef:
    name: %s
    kind: SecretStore
  target:
    name: backend-secrets
  data:
    - secretKey: postgres-db-uri
      remoteRef:
        key: %s
        property: db-uri
`, ns, interval, store, key)
	objs, err := decodeManifests([]byte(guide))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.Create(ctx, objs[0]); err != nil {
		t.Fatalf("applying the guide's v1beta1 ExternalSecret: %v", err)
	}
}

// forceSync changes the force-sync annotation, as users do to refresh now.
func (e *esEnv) forceSync(ctx context.Context, t *testing.T, es *esv1.ExternalSecret) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"force-sync":"%d"}}}`, time.Now().UnixNano())
	if err := e.client.Patch(ctx, es, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatalf("force-sync of %s: %v", client.ObjectKeyFromObject(es), err)
	}
}

// kubeStore sets up what a Kubernetes store needs: a source namespace with
// the given Secrets, and a ServiceAccount in appNS allowed to read (and,
// when write is true, write) Secrets there. It returns the source namespace.
func (e *esEnv) kubeStore(ctx context.Context, t *testing.T, appNS, sa string, write bool, secrets map[string]map[string]string) string {
	t.Helper()
	src := newNamespace(ctx, t)
	for name, data := range secrets {
		e.create(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: src, Name: name}, StringData: data})
	}
	for _, o := range storeRBAC(appNS, src, sa, write) {
		if err := e.client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating %T: %v", o, err)
		}
	}
	return src
}

// storeRBAC is a ServiceAccount in appNS allowed to read (and maybe write) Secrets of src.
func storeRBAC(appNS, src, sa string, write bool) []client.Object {
	verbs := []string{"get", "list"}
	if write {
		verbs = append(verbs, "create", "update", "delete")
	}
	return []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: sa}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: src, Name: "store-" + sa},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: src, Name: "store-" + sa},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "store-" + sa},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: appNS, Name: sa}}},
	}
}

// kubeProvider is a Kubernetes provider reading src as ServiceAccount sa.
func kubeProvider(src, sa string, saNS *string) *esv1.SecretStoreProvider {
	return &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
		RemoteNamespace: src,
		Auth:            &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: sa, Namespace: saNS}},
	}}
}

func setString(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func esDuration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func containsAny(haystack string, needles ...string) string {
	for _, n := range needles {
		if strings.Contains(haystack, n) {
			return n
		}
	}
	return ""
}

// waitGone waits until obj no longer exists (any of our kinds).
func (e *esEnv) waitGone(ctx context.Context, t *testing.T, obj client.Object, timeout time.Duration) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("%T %s still exists after %s: %v", obj, client.ObjectKeyFromObject(obj), timeout, err)
	}
}
