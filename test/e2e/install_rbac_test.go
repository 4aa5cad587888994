package e2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// installClass keeps the stores of this test to the controller under test,
// away from the package's admin-credentialed ExternalSecret controllers.
const installClass = "keyward-install"

// TestInstallManifestRBAC applies deploy/keyward.yaml with server-side
// apply, runs the controllers as the shipped ServiceAccount (a TokenRequest
// token, so exactly the shipped RBAC applies), and shows that a SealedSecret
// and an ExternalSecret sync while what the controller does not need is refused.
func TestInstallManifestRBAC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	objs := deployManifests(t, "keyward.yaml")
	for range 2 { // the second apply shows the manifest applies again cleanly
		applyInstall(ctx, t, objs, "keyward-install")
	}
	var d appsv1.Deployment
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "keyward"}, &d); err != nil {
		t.Fatalf("the applied Deployment: %v", err)
	}

	inst := startInstalled(ctx, t, "kube-system", installClass, nil)
	admin, cfg, scheme := inst.admin, inst.cfg, inst.scheme

	t.Run("SealedSecret", func(t *testing.T) {
		ns := newNamespace(ctx, t)
		deleteSealedSecretsAtEnd(t, admin, ns)
		ctl := &ssController{keys: inst.reg}
		key := ctl.currentKey(ctx, t)
		ss := sealSecret(t, &key.Private.PublicKey, ns, "backend-secrets", map[string]string{"postgres-db-uri": "postgresql://app:pw@db/app"})
		if err := admin.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "backend-secrets", hasData(map[string]string{"postgres-db-uri": "postgresql://app:pw@db/app"}))
		waitSynced(ctx, t, admin, ss, corev1.ConditionTrue)
	})

	t.Run("ExternalSecret", func(t *testing.T) {
		app := newNamespace(ctx, t)
		src := newNamespace(ctx, t)
		if err := admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: src, Name: "aura-production-postgres"},
			StringData: map[string]string{"db-uri": "postgresql://app:pw@db/aura"}}); err != nil {
			t.Fatal(err)
		}
		for _, o := range storeRBAC(app, src, "reader", false) {
			if err := admin.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "store"},
			Spec: esv1.SecretStoreSpec{Controller: installClass, Provider: kubeProvider(src, "reader", nil)}}
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend-secrets"},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: "store", Kind: "SecretStore"},
				RefreshInterval: esDuration(time.Hour),
				Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
					RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura-production-postgres", Property: "db-uri"}}},
			}}
		for _, o := range []client.Object{store, es} {
			if err := admin.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		e := &esEnv{client: admin}
		e.waitReady(ctx, t, app, "backend-secrets", corev1.ConditionTrue, esv1.ReasonSecretSynced)
		s := e.waitSecret(ctx, t, app, "backend-secrets", nil)
		if string(s.Data["postgres-db-uri"]) != "postgresql://app:pw@db/aura" || s.Labels[esv1.LabelManaged] != "true" {
			t.Fatalf("Secret: labels %v, keys %v", s.Labels, keysOf(s.Data))
		}
	})

	t.Run("Reload", func(t *testing.T) {
		// The shipped RBAC is enough to watch, hash (its key in
		// kube-system), restart and record the Event.
		ns := newNamespace(ctx, t)
		if err := admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			StringData: map[string]string{"token": "t0ken-before"}}); err != nil {
			t.Fatal(err)
		}
		d := deployment(ns, "app", map[string]string{"reloader.stakater.com/auto": "true"}, podSpec(envKey("app", "token"), nil))
		if err := admin.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		before := waitRecorded(ctx, t, d)
		setSecretKey(ctx, t, ns, "app", "token", "t0ken-after")
		waitRestarted(ctx, t, before, d)
		waitReloadEvent(ctx, t, ns, "app")
	})

	t.Run("refused", func(t *testing.T) {
		// The same identity the controllers ran as.
		sa, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			t.Fatal(err)
		}
		ns := newNamespace(ctx, t)
		tests := []struct {
			what string
			call func(ctx context.Context) error
		}{
			{"binding itself to cluster-admin", func(ctx context.Context) error {
				return sa.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "keyward-escalate"},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
					Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: "keyward"}}})
			}},
			{"writing a Role", func(ctx context.Context) error {
				return sa.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"}})
			}},
			{"listing Pods", func(ctx context.Context) error {
				return sa.List(ctx, &corev1.PodList{}, client.InNamespace("kube-system"))
			}},
			{"creating a Pod", func(ctx context.Context) error {
				return sa.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}})
			}},
			{"listing ConfigMaps (it reads only those named by a template)", func(ctx context.Context) error {
				return sa.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns))
			}},
			{"creating a ServiceAccount", func(ctx context.Context) error {
				return sa.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sa"}})
			}},
			// The reload component may patch workloads (it restarts them
			// through a pod-template annotation) but never delete one.
			{"deleting its own Deployment", func(ctx context.Context) error {
				return sa.Delete(ctx, d.DeepCopy())
			}},
			{"deleting a namespace", func(ctx context.Context) error {
				return sa.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			}},
			{"deleting a SealedSecret", func(ctx context.Context) error {
				return sa.DeleteAllOf(ctx, &ssv1.SealedSecret{}, client.InNamespace(ns))
			}},
			{"taking another Lease namespace", func(ctx context.Context) error {
				return sa.Create(ctx, leaseIn(ns))
			}},
			{"reading another component's Lease (only keyward-controller)", func(ctx context.Context) error {
				return sa.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "kube-controller-manager"}, leaseIn("kube-system"))
			}},
			{"renewing another component's Lease", func(ctx context.Context) error {
				l := leaseIn("kube-system")
				l.Name = "kube-scheduler"
				return sa.Update(ctx, l)
			}},
			{"patching a Secret (created and updated, never patched)", func(ctx context.Context) error {
				return sa.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x"}},
					client.RawPatch("application/merge-patch+json", []byte(`{"data":null}`)))
			}},
			{"replacing a SealedSecret's status (only patched)", func(ctx context.Context) error {
				return sa.Status().Update(ctx, &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x", ResourceVersion: "1"}})
			}},
		}
		for _, tt := range tests {
			if err := tt.call(ctx); !apierrors.IsForbidden(err) {
				t.Errorf("%s: err = %v, want Forbidden", tt.what, err)
			}
		}
	})
}

func leaseIn(ns string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keyward-controller"}}
}
