package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// namespacedClass keeps this test's stores to the namespaced controller.
const namespacedClass = "keyward-namespaced"

// TestInstallNamespaced applies the namespaced overlay's RBAC (Roles in
// team-a and team-b, the controller's own Roles in its namespace, no
// cluster-wide grant), runs the controllers under that ServiceAccount's
// token with --watch-namespaces=team-a,team-b, and shows that a store
// reading inside works while one asking for a Secret outside is refused
// with an error naming the namespace, and the Secret there stays untouched.
func TestInstallNamespaced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctlNS := newNamespace(ctx, t)
	watched := []string{"team-a", "team-b"}
	var objs []*unstructured.Unstructured
	objs = append(objs, deployManifests(t, "overlays", "namespaced", "namespaces.yaml")...)
	for _, o := range deployManifests(t, "overlays", "namespaced", "rbac.yaml") {
		if o.GetKind() == "RoleBinding" {
			setSubject(t, o, ctlNS)
		}
		objs = append(objs, o)
	}
	// The controller namespace's Roles (key Secrets, Lease) as shipped.
	for _, pillar := range []string{"sealed-secrets", "external-secrets"} {
		for _, o := range deployManifests(t, "components", pillar, "role.yaml") {
			if o.GetKind() != "Role" {
				continue
			}
			o.SetNamespace(ctlNS)
			b := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
				"metadata": map[string]any{"name": o.GetName(), "namespace": ctlNS},
				"roleRef":  map[string]any{"apiGroup": rbacv1.GroupName, "kind": "Role", "name": o.GetName()},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "keyward", "namespace": ctlNS}},
			}}
			objs = append(objs, o, b)
		}
	}
	applyInstall(ctx, t, objs, "keyward-namespaced")
	inst := startInstalled(ctx, t, ctlNS, namespacedClass, watched)
	admin, cfg, scheme := inst.admin, inst.cfg, inst.scheme
	e := &esEnv{client: admin}
	outside := newNamespace(ctx, t)
	const value = "postgresql://app:pw@db/aura"
	for _, ns := range []string{"team-b", outside} {
		if err := admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aura-db-" + ctlNS},
			StringData: map[string]string{"db-uri": value}}); err != nil {
			t.Fatal(err)
		}
	}
	// The store's own identity could read both: only the namespace limit refuses.
	for _, o := range append(storeRBAC("team-a", "team-b", "reader-"+ctlNS, true), storeRBAC("team-a", outside, "reader-"+ctlNS, true)[1:]...) {
		if err := admin.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	sync := func(name, remote string) {
		store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name},
			Spec: esv1.SecretStoreSpec{Controller: namespacedClass, Provider: kubeProvider(remote, "reader-"+ctlNS, nil)}}
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: name, Kind: "SecretStore"},
				RefreshInterval: esDuration(time.Hour),
				Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
					RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura-db-" + ctlNS, Property: "db-uri"}}},
			}}
		for _, o := range []client.Object{store, es} {
			if err := admin.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("inside the watched namespaces", func(t *testing.T) {
		name := "inside-" + ctlNS
		sync(name, "team-b")
		e.waitReady(ctx, t, "team-a", name, corev1.ConditionTrue, esv1.ReasonSecretSynced)
		s := e.waitSecret(ctx, t, "team-a", name, nil)
		if string(s.Data["postgres-db-uri"]) != value {
			t.Fatalf("Secret team-a/%s keys %v", name, keysOf(s.Data))
		}
	})

	t.Run("a Secret outside is refused and untouched", func(t *testing.T) {
		name := "outside-" + ctlNS
		sync(name, outside)
		es := e.waitReady(ctx, t, "team-a", name, corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
		msg := readyCondition(es).Message
		if !strings.Contains(msg, outside) || !strings.Contains(msg, "watched namespaces") || strings.Contains(msg, value) {
			t.Fatalf("Ready message %q: want the refused namespace named, and no value", msg)
		}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: name}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a Secret was written for the refused ExternalSecret: %v", err)
		}
		var s corev1.Secret
		if err := admin.Get(ctx, client.ObjectKey{Namespace: outside, Name: "aura-db-" + ctlNS}, &s); err != nil {
			t.Fatal(err)
		}
		if string(s.Data["db-uri"]) != value || len(s.Labels) != 0 || len(s.OwnerReferences) != 0 {
			t.Fatalf("Secret %s/aura-db-%s changed: labels %v, owners %v", outside, ctlNS, s.Labels, s.OwnerReferences)
		}
	})

	t.Run("SealedSecrets unsealed inside, not served outside", func(t *testing.T) {
		key := (&ssController{keys: inst.reg}).currentKey(ctx, t)
		name := "ss-" + ctlNS
		items := map[string]string{"postgres-db-uri": value}
		// Outside first: by the time the inside one is unsealed, the
		// controller has had every chance to act on it.
		for _, ns := range []string{outside, "team-a"} {
			ss := sealSecret(t, &key.Private.PublicKey, ns, name, items)
			if err := admin.Create(ctx, ss); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.Delete(context.Background(), ss) })
		}
		waitSecret(ctx, t, "team-a", name, hasData(items))
		time.Sleep(time.Second)
		if err := admin.Get(ctx, client.ObjectKey{Namespace: outside, Name: name}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
			t.Fatalf("Secret %s/%s outside the watched namespaces: err = %v, want NotFound", outside, name, err)
		}
	})

	t.Run("refused to the identity itself", func(t *testing.T) {
		sa, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			what string
			call func(ctx context.Context) error
		}{
			{"reading a Secret outside", func(ctx context.Context) error {
				return sa.Get(ctx, client.ObjectKey{Namespace: outside, Name: "aura-db-" + ctlNS}, &corev1.Secret{})
			}},
			{"listing Secrets cluster-wide", func(ctx context.Context) error { return sa.List(ctx, &corev1.SecretList{}) }},
			{"listing ClusterSecretStores", func(ctx context.Context) error { return sa.List(ctx, &esv1.ClusterSecretStoreList{}) }},
			{"listing namespaces", func(ctx context.Context) error { return sa.List(ctx, &corev1.NamespaceList{}) }},
			{"a token for a ServiceAccount outside", func(ctx context.Context) error {
				_, err := cs.CoreV1().ServiceAccounts(outside).CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
				return err
			}},
			{"reading another Lease in its own namespace", func(ctx context.Context) error {
				return sa.Get(ctx, client.ObjectKey{Namespace: ctlNS, Name: "someone-else"}, leaseIn(ctlNS))
			}},
		}
		for _, tt := range tests {
			if err := tt.call(ctx); !apierrors.IsForbidden(err) {
				t.Errorf("%s: err = %v, want Forbidden", tt.what, err)
			}
		}
	})
}

// setSubject points a shipped RoleBinding at the test's ServiceAccount.
func setSubject(t *testing.T, o *unstructured.Unstructured, ns string) {
	t.Helper()
	if err := unstructured.SetNestedSlice(o.Object, []any{map[string]any{"kind": "ServiceAccount", "name": "keyward", "namespace": ns}}, "subjects"); err != nil {
		t.Fatal(err)
	}
}
