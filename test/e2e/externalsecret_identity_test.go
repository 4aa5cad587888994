package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
)

// TestNamespacedStoreMayNotActAsTheController: a namespace user's
// SecretStore naming no credentials would read and write Secrets anywhere
// as the controller. It is refused in its status, and the ExternalSecret
// and PushSecret using it fail with that reason and touch nothing; a
// ClusterSecretStore, made by an admin, may still act as the controller.
func TestNamespacedStoreMayNotActAsTheController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app, victim := newNamespace(ctx, t), newNamespace(ctx, t)
	const field = "spec.provider.kubernetes.auth: a SecretStore must name its own credentials (auth or authRef)"
	e.create(ctx, t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: victim, Name: "sealing-key"}, StringData: map[string]string{"tls.key": "VICTIM-KEY"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "source"}, StringData: map[string]string{"k": "ATTACKER"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "ambient"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{RemoteNamespace: victim}}}},
	)

	store := &esv1.SecretStore{}
	eventually(ctx, t, "the SecretStore refused", func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: "ambient"}, store); err != nil {
			return false, err
		}
		for _, c := range store.Status.Conditions {
			if c.Type == esv1.SecretStoreReady && c.Status == corev1.ConditionFalse && c.Reason == esv1.ReasonInvalidProviderConfig {
				return strings.Contains(c.Message, field), nil
			}
		}
		return false, nil
	})

	e.create(ctx, t, newES(app, "steal", "ambient", "", "", entry("key", "sealing-key", "tls.key")))
	es := e.waitReady(ctx, t, app, "steal", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	if msg := readyCondition(es).Message; !strings.Contains(msg, field) {
		t.Errorf("ExternalSecret message %q does not name the field", msg)
	}

	ps := &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "overwrite"},
		Spec: esv1alpha1.PushSecretSpec{
			DeletionPolicy:  esv1alpha1.PushSecretDeletionPolicyDelete,
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "ambient", Kind: esv1.SecretStoreKind}},
			Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
			Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: "k",
				RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "sealing-key", Property: "tls.key"}}}},
		},
	}
	e.create(ctx, t, ps)
	eventually(ctx, t, "the PushSecret refused", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(ps), ps)
		return err == nil && len(ps.Status.Conditions) == 1 && ps.Status.Conditions[0].Status == corev1.ConditionFalse &&
			strings.Contains(ps.Status.Conditions[0].Message, field), err
	})
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: "key"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was made in %s from the refused store: %v", app, err)
	}
	if err := e.client.Delete(ctx, ps); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, ps, 60*time.Second)
	s := &corev1.Secret{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: victim, Name: "sealing-key"}, s); err != nil {
		t.Fatalf("the victim Secret: %v", err)
	}
	if string(s.Data["tls.key"]) != "VICTIM-KEY" || len(s.Data) != 1 {
		t.Fatalf("the victim Secret changed: %d keys", len(s.Data))
	}

	// An admin's ClusterSecretStore may act as the controller.
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "as-controller-" + app},
		Spec: esv1.SecretStoreSpec{
			Provider:   &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{RemoteNamespace: victim}},
			Conditions: []esv1.ClusterSecretStoreCondition{{Namespaces: []string{app}}},
		}}
	e.create(ctx, t, css)
	t.Cleanup(func() { _ = e.client.Delete(context.Background(), css) })
	allowed := newES(app, "allowed", css.Name, "", "", entry("key", "sealing-key", "tls.key"))
	allowed.Spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
	e.create(ctx, t, allowed)
	e.waitReady(ctx, t, app, "allowed", corev1.ConditionTrue, esv1.ReasonSecretSynced)
}

// TestPushSecretLeavesForeignKubernetesSecretsAlone: PushSecret through a
// store with its own credentials still never overwrites or deletes a
// remote Secret it did not create, until the store's annotation allows it.
func TestPushSecretLeavesForeignKubernetesSecretsAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	dst := e.kubeStore(ctx, t, app, "pusher", true, map[string]map[string]string{"foreign": {"owned-by": "someone-else"}})
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "remote"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(dst, "pusher", nil)}}
	e.create(ctx, t, store,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "source"}, StringData: map[string]string{"token": "pushed-value"}})
	ps := &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "push"},
		Spec: esv1alpha1.PushSecretSpec{
			RefreshInterval: esDuration(time.Second),
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "remote", Kind: esv1.SecretStoreKind}},
			Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
			Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: "token",
				RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "foreign", Property: "token"}}}},
		},
	}
	e.create(ctx, t, ps)
	want := "Secret " + dst + "/foreign was not created by PushSecret"
	eventually(ctx, t, "the PushSecret refused", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(ps), ps)
		return err == nil && len(ps.Status.Conditions) == 1 && ps.Status.Conditions[0].Status == corev1.ConditionFalse &&
			strings.Contains(ps.Status.Conditions[0].Message, want), err
	})
	s := &corev1.Secret{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: dst, Name: "foreign"}, s); err != nil {
		t.Fatal(err)
	}
	if len(s.Data) != 1 || string(s.Data["owned-by"]) != "someone-else" {
		t.Fatalf("the foreign Secret changed: %d keys", len(s.Data))
	}

	patch := `{"metadata":{"annotations":{"externalsecrets.keyward.dev/push-may-overwrite":"true"}}}`
	if err := e.client.Patch(ctx, store, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	e.waitSecret(ctx, t, dst, "foreign", func(s *corev1.Secret) bool {
		return string(s.Data["token"]) == "pushed-value" && string(s.Data["owned-by"]) == "someone-else"
	})
}
