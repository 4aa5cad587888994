package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestClusterSmoke proves the harness is a real cluster: RBAC is enforced for
// a ServiceAccount authenticated by TokenRequest, the garbage collector
// removes owned objects, and the namespace controller finishes deletions.
func TestClusterSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := cluster.Client
	ns := newNamespace(ctx, t)

	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		StringData: map[string]string{"password": "smoke-test-value"},
	}
	if err := admin.Create(ctx, secret); err != nil {
		t.Fatalf("admin creating Secret: %v", err)
	}

	reader, err := cluster.ServiceAccountClient(ctx, ns, "reader")
	if err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(secret)

	t.Run("unbound ServiceAccount is forbidden", func(t *testing.T) {
		err := reader.Get(ctx, key, &corev1.Secret{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("reading Secret without a RoleBinding: got %v, want Forbidden", err)
		}
	})

	t.Run("bound ServiceAccount may read", func(t *testing.T) {
		bindSecretReader(ctx, t, ns, "reader")
		var got corev1.Secret
		// RBAC changes reach the authorizer through an informer: poll briefly.
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
			err := reader.Get(ctx, key, &got)
			if apierrors.IsForbidden(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			t.Fatalf("reading Secret after binding: %v", err)
		}
		if string(got.Data["password"]) != "smoke-test-value" {
			t.Fatalf("Secret data = %q, want the value written", got.Data["password"])
		}
	})

	t.Run("owned Secret is garbage-collected", func(t *testing.T) {
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "owner"}}
		if err := admin.Create(ctx, owner); err != nil {
			t.Fatal(err)
		}
		owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "owned",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}},
		}}
		if err := admin.Create(ctx, owned); err != nil {
			t.Fatal(err)
		}
		if err := admin.Delete(ctx, owner); err != nil {
			t.Fatal(err)
		}
		waitGone(ctx, t, owned, 60*time.Second)
	})

	t.Run("namespace deletion completes", func(t *testing.T) {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := admin.Delete(ctx, nsObj); err != nil {
			t.Fatal(err)
		}
		waitGone(ctx, t, nsObj, 90*time.Second)
	})
}

// newNamespace creates a namespace with a random name for one test.
func newNamespace(ctx context.Context, t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("%s-%s", "e2e", rand.String(6))
	if err := cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

func bindSecretReader(ctx context.Context, t *testing.T, ns, sa string) {
	t.Helper()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secret-reader-" + sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: sa}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := cluster.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
	}
}

// waitGone polls until obj no longer exists.
func waitGone(ctx context.Context, t *testing.T, obj client.Object, timeout time.Duration) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("%T %s still exists after %s: %v\nkube-controller-manager log:\n%s",
			obj, client.ObjectKeyFromObject(obj), timeout, err, cluster.ControllerManagerLog(20))
	}
}
