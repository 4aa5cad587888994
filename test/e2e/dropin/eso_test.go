package dropin

import (
	"context"
	"crypto/sha3"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/peers"
	"github.com/keyward/keyward/test/proc"
	testvault "github.com/keyward/keyward/test/vault"
)

// esoScenario is one set of users' manifests, applied as written for each
// controller: only the namespace and the store's controller class differ.
// A SecretStore (v1beta1) reads a real Vault's KV v2 engine with a token;
// one ExternalSecret (v1) maps a property and extracts a whole secret,
// another (v1beta1) renders a template with labels.
const esoScenario = `
apiVersion: v1
kind: Secret
metadata: {name: vault-token, namespace: NS}
stringData: {token: TOKEN}
---
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: vault, namespace: NS}
spec:
  controller: CLASS
  provider:
    vault:
      server: ADDR
      path: secret
      version: v2
      auth:
        tokenSecretRef: {name: vault-token, key: token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: backend, namespace: NS}
spec:
  refreshInterval: 1s
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: backend-secrets, creationPolicy: Owner}
  data:
  - secretKey: postgres-db-uri
    remoteRef: {key: app/backend, property: db-uri}
  dataFrom:
  - extract: {key: app/shared}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: templated, namespace: NS}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault, kind: SecretStore}
  target:
    name: backend-dsn
    template:
      engineVersion: v2
      metadata:
        labels: {app: backend}
      data:
        dsn: "postgresql://{{ .user }}:{{ .password }}@db:5432/app"
  data:
  - secretKey: user
    remoteRef: {key: app/backend, property: user}
  - secretKey: password
    remoteRef: {key: app/backend, property: password}
`

// The External Secrets Operator's own controller and Keyward's run the
// same scenario side by side, on one cluster that has ESO's CRDs as ESO
// releases them, against one real Vault; each step must end the same way
// for both: the Secrets' bytes, labels and owners, the conditions' reasons,
// what a refresh brings, what a bad reference keeps, and what deleting an
// ExternalSecret removes.
func TestSameScenarioAsESO(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bins := peers.Get(t)
	c, err := testcluster.Start(ctx, testcluster.Options{CRDDirs: []string{bins.ExternalSecretsCRDs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	admin := adminClient(t, c)

	v := testvault.Start(t, testvault.Options{})
	kv := v.Client.KVv2("secret")
	put := func(path string, data map[string]any) {
		t.Helper()
		if _, err := kv.Put(ctx, path, data); err != nil {
			t.Fatalf("vault put %s: %v", path, err)
		}
	}
	put("app/backend", map[string]any{"db-uri": "postgresql://app:first@db:5432/app", "user": "app", "password": "s3cr3t-pw"})
	put("app/shared", map[string]any{"api-key": "ak-123", "region": "eu-west-1"})

	env := []string{"KUBECONFIG=" + c.Kubeconfig}
	eso := startProcess(t, bins.ExternalSecrets, env, "--controller-class=eso", "--metrics-addr="+proc.FreeAddr(t),
		"--enable-leader-election=false", "--loglevel=info")
	kw := startController(t, append(env, "POD_NAMESPACE=default"), "--controller-class=keyward",
		"--enable-sealedsecret=false", "--listen-addr=0", "--health-addr=0", "--listen-metrics-addr="+proc.FreeAddr(t))

	runs := []*scenarioRun{
		{name: "ESO", class: "eso", ctl: eso},
		{name: "Keyward", class: "keyward", ctl: kw},
	}
	for _, r := range runs {
		r.ns = newNamespace(ctx, t, admin)
		manifests := strings.NewReplacer("NS", r.ns, "CLASS", r.class, "ADDR", v.Addr, "TOKEN", v.RootToken).Replace(esoScenario)
		applyYAML(ctx, t, admin, manifests)
	}

	// Each step waits until both controllers reach the expected state, then
	// compares what they made.
	t.Run("synced", func(t *testing.T) {
		for _, r := range runs {
			r.waitReady(ctx, t, admin, "backend", corev1.ConditionTrue, "SecretSynced")
			r.waitReady(ctx, t, admin, "templated", corev1.ConditionTrue, "SecretSynced")
		}
		want := map[string]map[string]string{
			"backend-secrets": {"postgres-db-uri": "postgresql://app:first@db:5432/app", "api-key": "ak-123", "region": "eu-west-1"},
			"backend-dsn":     {"dsn": "postgresql://app:s3cr3t-pw@db:5432/app"},
		}
		for name, data := range want {
			got := map[string]secretShape{}
			for _, r := range runs {
				got[r.name] = r.secret(ctx, t, admin, name)
				if !maps.Equal(got[r.name].Data, data) {
					t.Errorf("%s: Secret %s holds keys %v, want %v", r.name, name, keys(got[r.name].Data), keys(data))
				}
			}
			if !reflect.DeepEqual(got["ESO"], got["Keyward"]) {
				t.Errorf("Secret %s differs:\n ESO:     %+v\n Keyward: %+v", name, got["ESO"].redacted(), got["Keyward"].redacted())
			}
		}
		for _, r := range runs {
			store := &unstructured.Unstructured{}
			store.SetGroupVersionKind(schema.GroupVersionKind{Group: "external-secrets.io", Version: "v1", Kind: "SecretStore"})
			if err := admin.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "vault"}, store); err != nil {
				t.Fatal(err)
			}
			if c := readyCondition(store); c["status"] != "True" || c["reason"] != "Valid" {
				t.Errorf("%s: store Ready %v, want True/Valid", r.name, c)
			}
			es := &unstructured.Unstructured{}
			es.SetGroupVersionKind(esGVK)
			if err := admin.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "backend"}, es); err != nil {
				t.Fatal(err)
			}
			if b, _, _ := unstructured.NestedString(es.Object, "status", "binding", "name"); b != "backend-secrets" {
				t.Errorf("%s: status.binding.name %q, want backend-secrets", r.name, b)
			}
		}
		if l := runs[1].secret(ctx, t, admin, "backend-dsn").Labels["app"]; l != "backend" {
			t.Errorf("the template's label app=%q, want backend", l)
		}
	})

	t.Run("a new value in Vault reaches both Secrets", func(t *testing.T) {
		put("app/backend", map[string]any{"db-uri": "postgresql://app:second@db:5432/app", "user": "app", "password": "s3cr3t-pw"})
		for _, r := range runs {
			r.waitValue(ctx, t, admin, "backend-secrets", "postgres-db-uri", "postgresql://app:second@db:5432/app")
		}
	})

	t.Run("a bad reference keeps the Secret", func(t *testing.T) {
		patch := []byte(`{"spec":{"data":[{"secretKey":"postgres-db-uri","remoteRef":{"key":"app/missing","property":"db-uri"}}]}}`)
		for _, r := range runs {
			es := &unstructured.Unstructured{}
			es.SetGroupVersionKind(esGVK)
			es.SetNamespace(r.ns)
			es.SetName("backend")
			if err := admin.Patch(ctx, es, client.RawPatch("application/merge-patch+json", patch)); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range runs {
			r.waitReady(ctx, t, admin, "backend", corev1.ConditionFalse, "SecretSyncedError")
			if got := r.secret(ctx, t, admin, "backend-secrets").Data["postgres-db-uri"]; got != "postgresql://app:second@db:5432/app" {
				t.Errorf("%s: after a failed sync the Secret's postgres-db-uri changed (%d bytes)", r.name, len(got))
			}
		}
	})

	t.Run("deleting an ExternalSecret removes the Secret it owns", func(t *testing.T) {
		for _, r := range runs {
			es := &unstructured.Unstructured{}
			es.SetGroupVersionKind(esGVK)
			es.SetNamespace(r.ns)
			es.SetName("templated")
			if err := admin.Delete(ctx, es); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range runs {
			r.eventually(ctx, t, "Secret backend-dsn deleted", func(ctx context.Context) (bool, error) {
				err := admin.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "backend-dsn"}, &corev1.Secret{})
				return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
			})
		}
	})
	for _, r := range runs {
		r.ctl.running(t)
	}
}

var esGVK = schema.GroupVersionKind{Group: "external-secrets.io", Version: "v1", Kind: "ExternalSecret"}

type scenarioRun struct {
	name, class, ns string
	ctl             *controller
}

// secretShape is what the comparison looks at in a Secret: its values,
// its type, the labels and annotations the controllers set (ESO's names
// and values, the data hash included), and who owns it.
type secretShape struct {
	Data        map[string]string
	Type        corev1.SecretType
	Labels      map[string]string
	Annotations map[string]string
	Owners      []string
}

// redacted is the shape without values, for failure messages.
func (s secretShape) redacted() secretShape {
	sizes := map[string]string{}
	for k, v := range s.Data {
		sizes[k] = fmt.Sprintf("(%d bytes)", len(v))
	}
	s.Data = sizes
	return s
}

func (r *scenarioRun) secret(ctx context.Context, t *testing.T, admin client.Client, name string) secretShape {
	t.Helper()
	var s corev1.Secret
	if err := admin.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: name}, &s); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	shape := secretShape{Data: map[string]string{}, Type: s.Type, Labels: s.Labels, Annotations: s.Annotations}
	for k, v := range s.Data {
		shape.Data[k] = string(v)
	}
	// The owner label names its ExternalSecret by a hash of namespace/name
	// (SHA3-224, hex), which differs between the two namespaces: compare
	// it with the hash computed here instead.
	const createdBy = "reconcile.external-secrets.io/created-by"
	if v, ok := s.Labels[createdBy]; ok {
		shape.Labels = maps.Clone(s.Labels)
		if owner := s.OwnerReferences; len(owner) == 1 && v == fmt.Sprintf("%x", sha3.Sum224([]byte(r.ns+"/"+owner[0].Name))) {
			shape.Labels[createdBy] = "sha3-224(namespace/owner)"
		}
	}
	// Keyward marks when the value last changed (for `keyward audit age`);
	// ESO has no such mark, and its time differs between runs anyway.
	const valueChanged = "externalsecrets.keyward.dev/value-changed-at"
	if _, ok := s.Annotations[valueChanged]; ok {
		shape.Annotations = maps.Clone(s.Annotations)
		delete(shape.Annotations, valueChanged)
	}
	for _, o := range s.OwnerReferences {
		shape.Owners = append(shape.Owners, fmt.Sprintf("%s/%s controller=%v", o.Kind, o.Name, o.Controller != nil && *o.Controller))
	}
	return shape
}

func (r *scenarioRun) waitReady(ctx context.Context, t *testing.T, admin client.Client, name string, status corev1.ConditionStatus, reason string) {
	t.Helper()
	r.eventually(ctx, t, fmt.Sprintf("ExternalSecret %s Ready=%s %s", name, status, reason), func(ctx context.Context) (bool, error) {
		es := &unstructured.Unstructured{}
		es.SetGroupVersionKind(esGVK)
		if err := admin.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: name}, es); err != nil {
			return false, err
		}
		c := readyCondition(es)
		return c["status"] == string(status) && c["reason"] == reason, nil
	})
}

// readyCondition is the object's status condition of type Ready, or nil.
func readyCondition(u *unstructured.Unstructured) map[string]any {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Ready" {
			return m
		}
	}
	return nil
}

func (r *scenarioRun) waitValue(ctx context.Context, t *testing.T, admin client.Client, name, key, want string) {
	t.Helper()
	r.eventually(ctx, t, "Secret "+name+" with the new "+key, func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		if err := admin.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: name}, &s); err != nil {
			return false, err
		}
		return string(s.Data[key]) == want, nil
	})
}

func (r *scenarioRun) eventually(ctx context.Context, t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-r.ctl.exited:
			r.ctl.exited <- err
			return false, fmt.Errorf("the controller exited: %v", err)
		default:
		}
		return cond(ctx)
	})
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v; its log:\n%s", r.name, what, err, r.ctl.tail(40))
	}
}

// applyYAML creates each document of a multi-document manifest.
func applyYAML(ctx context.Context, t *testing.T, admin client.Client, manifests string) {
	t.Helper()
	for _, doc := range strings.Split(manifests, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("manifest: %v", err)
		}
		if err := admin.Create(ctx, u); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func keys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
