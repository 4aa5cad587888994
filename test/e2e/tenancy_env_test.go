package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/proc"
)

// canary is a unique planted value. A leak is any of its encodings showing
// up where people can read it without reading the Secret it sits in.
type canary string

// newCanary is a mixed-case random value (so its upper-cased form differs).
func newCanary(label string) canary {
	return canary("Kw" + label + "Canary" + rand.String(20))
}

// newNumericCanary is digits only, for templates that parse a value as a number.
func newNumericCanary() canary {
	const digits = "123456789"
	b := make([]byte, 15)
	for i := range b {
		b[i] = digits[rand.Intn(len(digits))]
	}
	return canary(b)
}

// encodings returns every form the value is looked for in, by name. The
// "base64 @k" forms are the part of the value's base64 that does not
// depend on the k bytes before it, so a value base64-encoded inside a
// larger text (a JSON document, a whole Secret) is found too.
func (c canary) encodings() map[string]string {
	v := []byte(c)
	out := map[string]string{"sha256 hex lower": fmt.Sprintf("%x", sha256.Sum256(v))}
	for _, f := range leak.Forms(string(c)) {
		out[f.Name] = f.Text
	}
	for k := 0; k < 3; k++ {
		for name, enc := range map[string]*base64.Encoding{"std": base64.RawStdEncoding, "url": base64.RawURLEncoding} {
			s := enc.EncodeToString(append(make([]byte, k), v...))
			skip := (8*k + 5) / 6 // characters that carry bits of the k bytes before
			out[fmt.Sprintf("base64 %s @%d", name, k)] = s[skip : len(s)-2]
		}
	}
	return out
}

// haystack is text the controller or its API produced, by where it came from.
type haystack struct {
	name, text string
}

// assertNowhere fails for every encoding of the value found in a haystack,
// showing a little of what surrounds it so the leak can be traced.
func (c canary) assertNowhere(t *testing.T, haystacks ...haystack) {
	t.Helper()
	encs := c.encodings()
	names := make([]string, 0, len(encs))
	for n := range encs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, h := range haystacks {
		for _, n := range names {
			if i := strings.Index(h.text, encs[n]); i >= 0 {
				from, to := max(0, i-120), min(len(h.text), i+len(encs[n])+60)
				t.Errorf("canary %s (%s) reached the %s: …%s…", c, n, h.name, h.text[from:to])
			}
		}
	}
}

// tenancyEnv is what every tenancy case shares: one set of controllers,
// the tenant's namespaces and credentials, the victims' namespaces, and
// every HTTP reply the kubeseal API gave.
type tenancyEnv struct {
	es *esEnv
	ss *ssController
	// apiURL is the SealedSecret controller's HTTP API.
	apiURL string
	// tenant acts as ServiceAccount tenantA/tenant, whose Role reaches tenantA alone.
	tenant client.Client
	// tenantA and tenantB are the tenants' namespaces; victim, shared and
	// ctlNS (the sealing keys) are not the tenant's.
	tenantA, tenantB, victim, shared, ctlNS string
	// systemSecret is the decoy sealing key planted in kube-system.
	systemSecret string
	replies      *lockedBuffer
}

// tenantRole is what the tenant may do, in its own namespace only.
func tenantRole(ns string) []client.Object {
	all := []string{"create", "get", "list", "watch", "update", "patch", "delete"}
	return []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"external-secrets.io"}, Resources: []string{"secretstores", "externalsecrets", "pushsecrets"}, Verbs: all},
			{APIGroups: []string{"bitnami.com"}, Resources: []string{"sealedsecrets"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps", "serviceaccounts"}, Verbs: all},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "tenant"}}},
	}
}

// newTenancyEnv starts the controllers and makes the namespaces. The
// SealedSecret controller runs in-process so its log lines land in the
// same DEBUG buffer as the ExternalSecret controllers'.
func newTenancyEnv(ctx context.Context, t *testing.T) *tenancyEnv {
	t.Helper()
	e := externalSecretsEnv(t)
	env := &tenancyEnv{es: e, replies: &lockedBuffer{},
		tenantA: newNamespace(ctx, t), tenantB: newNamespace(ctx, t), victim: newNamespace(ctx, t),
		shared: newNamespace(ctx, t), ctlNS: newNamespace(ctx, t)}
	c := sealedSecretClient(t)
	deleteSealedSecretsAtEnd(t, c, env.tenantA, env.tenantB, env.victim, env.shared, env.ctlNS)
	addr := proc.FreeAddr(t)
	env.ss = startSealedSecrets(ctx, t, env.ctlNS, func(o *manager.SealedSecretsOptions) { o.ListenAddr = addr })
	env.apiURL = "http://" + addr
	env.ss.currentKey(ctx, t)
	for _, o := range tenantRole(env.tenantA) {
		e.create(ctx, t, o)
	}
	cfg, err := cluster.ServiceAccountConfig(ctx, env.tenantA, "tenant")
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	if env.tenant, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	env.systemSecret = "sealed-secrets-key" + rand.String(5)
	t.Cleanup(func() {
		_ = cluster.Client.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: env.systemSecret}})
	})
	// The API must be serving before any case posts to it.
	eventually(ctx, t, "the kubeseal API", func(ctx context.Context) (bool, error) {
		resp, err := http.Get(env.apiURL + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return env
}

// tenantCreate creates objects with the tenant's own credentials.
func (env *tenancyEnv) tenantCreate(ctx context.Context, t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.tenant.Create(ctx, o); err != nil {
			t.Fatalf("the tenant creating %T %s: %v", o, client.ObjectKeyFromObject(o), err)
		}
	}
}

// post sends body to the kubeseal API with extra headers and records the
// reply (status and body) among the haystacks.
func (env *tenancyEnv) post(t *testing.T, path string, body io.Reader, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.apiURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	env.replies.add(fmt.Sprintf("%s %d %v %s", path, resp.StatusCode, resp.Header, b))
	return resp.StatusCode, string(b)
}

// haystacks gathers every place a value must not reach: the statuses of
// the tenants' objects and of the ClusterSecretStores, every Event in the
// cluster, the controllers' DEBUG log, the kubeseal API's replies and the
// metrics of both registries.
func (env *tenancyEnv) haystacks(ctx context.Context, t *testing.T) []haystack {
	t.Helper()
	var statuses []any
	for _, ns := range []string{env.tenantA, env.tenantB} {
		var ess esv1.ExternalSecretList
		var stores esv1.SecretStoreList
		var pss esv1alpha1.PushSecretList
		var sss ssv1.SealedSecretList
		for _, l := range []client.ObjectList{&ess, &stores, &pss, &sss} {
			if err := env.es.client.List(ctx, l, client.InNamespace(ns)); err != nil {
				t.Fatalf("listing %T: %v", l, err)
			}
		}
		for _, o := range ess.Items {
			statuses = append(statuses, o.Status)
		}
		for _, o := range stores.Items {
			statuses = append(statuses, o.Status)
		}
		for _, o := range pss.Items {
			statuses = append(statuses, o.Status)
		}
		for _, o := range sss.Items {
			statuses = append(statuses, o.Status)
		}
	}
	var css esv1.ClusterSecretStoreList
	if err := env.es.client.List(ctx, &css); err != nil {
		t.Fatal(err)
	}
	for _, o := range css.Items {
		statuses = append(statuses, o.Status)
	}
	statusJSON, _ := json.Marshal(statuses)
	events, err := cluster.Clientset.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventsJSON, _ := json.Marshal(events.Items)
	logs := env.es.logs.String()
	// The refused syncs and stores log their status messages at DEBUG: without
	// those lines the search would prove nothing.
	if !strings.Contains(logs, `"level":1,"msg":"sync failed"`) || !strings.Contains(logs, `"level":1,"msg":"store status"`) {
		t.Errorf("the controllers' log has no DEBUG lines of refused syncs and stores; the search would prove nothing")
	}
	return []haystack{
		{"statuses", string(statusJSON)},
		{"events", string(eventsJSON)},
		{"controller log", logs},
		{"kubeseal API replies", env.replies.String()},
		{"ExternalSecret metrics", env.es.metricsText(t)},
		{"SealedSecret metrics", env.ss.metricsText(t)},
	}
}

// secretVersions maps namespace/name to resourceVersion of every Secret in
// the namespaces, to prove later that nothing there was created, changed or
// deleted.
func secretVersions(ctx context.Context, t *testing.T, namespaces ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ns := range namespaces {
		list, err := cluster.Clientset.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			out[ns+"/"+s.Name] = s.ResourceVersion
		}
	}
	return out
}

// assertSameSecrets fails for each Secret created, changed or deleted since before.
func assertSameSecrets(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		switch w, ok := after[k]; {
		case !ok:
			t.Errorf("Secret %s was deleted", k)
		case w != v:
			t.Errorf("Secret %s was changed", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("Secret %s was created", k)
		}
	}
}

// storeCondition waits until the store (namespaced, or cluster-wide when
// ns is "") reports Ready with status and returns the condition.
func (env *tenancyEnv) storeCondition(ctx context.Context, t *testing.T, ns, name string, status corev1.ConditionStatus) esv1.SecretStoreStatusCondition {
	t.Helper()
	var last esv1.SecretStoreStatusCondition
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var store esv1.GenericStore = &esv1.SecretStore{}
		if ns == "" {
			store = &esv1.ClusterSecretStore{}
		}
		if err := env.es.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, store); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, c := range store.GetStatus().Conditions {
			if c.Type == esv1.SecretStoreReady {
				last = c
				return c.Status == status, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("store %s/%s never reported Ready=%s; last seen %+v", ns, name, status, last)
	}
	return last
}

// esFailed waits until the ExternalSecret reports Ready=False and returns
// the condition; it fails the test when it reports Ready=True instead.
func (env *tenancyEnv) esFailed(ctx context.Context, t *testing.T, ns, name string) esv1.ExternalSecretStatusCondition {
	t.Helper()
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	var last esv1.ExternalSecretStatusCondition
	env.waitFailed(ctx, t, "ExternalSecret", es, func() (any, corev1.ConditionStatus, string) {
		last = readyCondition(es)
		return last, last.Status, last.Message
	})
	return last
}

// pushFailed waits until the PushSecret reports Ready=False.
func (env *tenancyEnv) pushFailed(ctx context.Context, t *testing.T, ns, name string) esv1alpha1.PushSecretStatusCondition {
	t.Helper()
	ps := &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	var last esv1alpha1.PushSecretStatusCondition
	env.waitFailed(ctx, t, "PushSecret", ps, func() (any, corev1.ConditionStatus, string) {
		for _, c := range ps.Status.Conditions {
			if c.Type == esv1alpha1.PushSecretReady {
				last = c
				return last, c.Status, c.Message
			}
		}
		return last, "", ""
	})
	return last
}

// waitFailed reads obj until ready says it is False, and fails the test when
// it is True instead; ready returns the condition it read, for the report.
func (env *tenancyEnv) waitFailed(ctx context.Context, t *testing.T, kind string, obj client.Object,
	ready func() (last any, status corev1.ConditionStatus, message string)) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	var last any
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.es.client.Get(ctx, key, obj); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		var status corev1.ConditionStatus
		var message string
		last, status, message = ready()
		if status == corev1.ConditionTrue {
			return false, fmt.Errorf("%s %s synced: %s", kind, key, message)
		}
		return status == corev1.ConditionFalse, nil
	})
	if err != nil {
		t.Errorf("%s %s did not fail: %v; last seen %+v", kind, key, err, last)
	}
}

// assertNoSecret fails when the Secret exists.
func assertNoSecret(ctx context.Context, t *testing.T, ns, name string) {
	t.Helper()
	err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("Secret %s/%s exists (or cannot be read: %v)", ns, name, err)
	}
}

// mentions fails unless msg contains each of want.
func mentions(t *testing.T, what, msg string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s %q does not mention %q", what, msg, w)
		}
	}
}
