package dropin

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/peers"
	"github.com/keyward/keyward/test/proc"
)

// In place of Bitnami's controller: only the SealedSecret CRD, Bitnami's
// RBAC and Bitnami's arguments. SealedSecrets are served, the other kinds
// are said not to be, and nothing crashes; once ESO's CRDs appear the
// kinds they bring are reported as forbidden to this identity, not
// watched. Then a controller with the rights starts serving ExternalSecrets
// when their CRD is installed, without a restart.
func TestDropInForBitnami(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	admin := adminClient(t, cluster)
	ns, kubeconfig := install(ctx, t, cluster, "sealed-secrets-controller", bitnamiClusterRules, bitnamiKeyRules)
	api, metrics := proc.FreeAddr(t), proc.FreeAddr(t)
	// The arguments Bitnami's chart passes; the environment places the
	// process as the Pod would be (its namespace, its credentials).
	ctl := startController(t, []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + ns, "SEALED_SECRETS_HEALTH_ADDR=" + proc.FreeAddr(t)},
		"--update-status", "--key-prefix", "sealed-secrets-key", "--listen-addr", api, "--listen-metrics-addr", metrics,
		"--log-info-stdout", "--log-level", "INFO", "--log-format", "text")

	t.Run("serves SealedSecrets", func(t *testing.T) {
		pub := certFrom(ctx, t, ctl, api)
		app := newNamespace(ctx, t, admin)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend"}, StringData: map[string]string{"db-uri": "postgresql://app:pw@db/app"}}
		ss, err := sealing.Seal(s, pub, sealing.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := admin.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		eventually(ctx, t, ctl, "the Secret and Synced=True", func(ctx context.Context) (bool, error) {
			var got corev1.Secret
			if err := admin.Get(ctx, client.ObjectKey{Namespace: app, Name: "backend"}, &got); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			var st ssv1.SealedSecret
			if err := admin.Get(ctx, client.ObjectKeyFromObject(ss), &st); err != nil {
				return false, err
			}
			synced := st.Status != nil && len(st.Status.Conditions) > 0 && st.Status.Conditions[0].Status == corev1.ConditionTrue
			return string(got.Data["db-uri"]) == "postgresql://app:pw@db/app" && synced, nil
		})
		// The key Secret is named as Bitnami names it.
		var keys corev1.SecretList
		if err := admin.List(ctx, &keys, client.InNamespace(ns), client.MatchingLabels{"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}); err != nil {
			t.Fatal(err)
		}
		if len(keys.Items) != 1 || !strings.HasPrefix(keys.Items[0].Name, "sealed-secrets-key") {
			t.Errorf("key Secrets in %s: %v, want one named sealed-secrets-key…", ns, keys.Items)
		}
	})

	t.Run("says what it does not serve", func(t *testing.T) {
		for _, kind := range []string{"ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret", "PushSecret"} {
			ctl.waitLog(ctx, t, "not serving "+kind+": the API server does not serve", "CRD is not installed")
			ctl.waitMetric(ctx, t, metrics, `keyward_controller_kind_served{kind="`+kind+`"} 0`)
		}
		ctl.waitMetric(ctx, t, metrics, `keyward_controller_kind_served{kind="SealedSecret"} 1`)
		ctl.running(t)
	})

	t.Run("CRD installed later", func(t *testing.T) {
		// A controller with the rights to serve ExternalSecrets, started
		// while only the SealedSecret CRD exists; its SealedSecret
		// controller is switched off and stays off.
		own := newNamespace(ctx, t, admin)
		later := startController(t, []string{"KUBECONFIG=" + cluster.Kubeconfig, "POD_NAMESPACE=" + own},
			"--discovery-interval=1s", "--enable-sealedsecret=false", "--listen-addr=0", "--health-addr=0",
			"--listen-metrics-addr="+proc.FreeAddr(t), "--controller-class=dropin-later")
		later.waitLog(ctx, t, "not serving ExternalSecret: the API server does not serve", "CRD is not installed")
		if err := cluster.InstallCRDs(esoCRDs...); err != nil {
			t.Fatal(err)
		}
		app := newNamespace(ctx, t, admin)
		syncExternalSecret(ctx, t, admin, later, app, "dropin-later")
		later.waitLog(ctx, t, "serving ExternalSecret")
		later.waitLog(ctx, t, "not serving SealedSecret: its controller is switched off")

		// Bitnami's identity may not watch ExternalSecrets: reported, not
		// watched, and the process goes on serving SealedSecrets.
		ctl.waitLog(ctx, t, "not serving ExternalSecret: the controller may not list externalsecrets.external-secrets.io/v1 cluster-wide (RBAC)")
		ctl.waitMetric(ctx, t, metrics, `keyward_controller_kind_served{kind="ExternalSecret"} 0`)
		ctl.running(t)
	})
}

// In place of ESO's controller: only ESO's CRDs (the bundle of its
// release, generators and all), ESO's RBAC and ESO's arguments.
// ExternalSecrets sync; SealedSecrets are said not to be served.
func TestDropInForESO(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	crds := peers.Get(t).ExternalSecretsCRDs
	c, err := testcluster.Start(ctx, testcluster.Options{CRDDirs: []string{crds}, NoControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	admin := adminClient(t, c)
	ns, kubeconfig := install(ctx, t, c, "external-secrets", esoClusterRules, esoLeaderRules)
	metrics := proc.FreeAddr(t)
	ctl := startController(t, []string{"KUBECONFIG=" + kubeconfig, "POD_NAMESPACE=" + ns},
		"--concurrent=1", "--client-qps=50", "--client-burst=100", "--enable-leader-election=true",
		"--metrics-addr="+metrics, "--live-addr="+proc.FreeAddr(t), "--loglevel=info", "--zap-time-encoding=epoch")
	app := newNamespace(ctx, t, admin)
	syncExternalSecret(ctx, t, admin, ctl, app, "")
	syncFromGenerator(ctx, t, admin, ctl, app)
	ctl.waitLog(ctx, t, "not serving SealedSecret: the API server does not serve sealedsecrets.bitnami.com/v1alpha1", "CRD is not installed")
	ctl.waitMetric(ctx, t, metrics, `keyward_controller_kind_served{kind="SealedSecret"} 0`)
	ctl.waitMetric(ctx, t, metrics, `keyward_controller_kind_served{kind="ExternalSecret"} 1`)
	ctl.running(t)
}

// syncExternalSecret makes a fake-provider store and an ExternalSecret in
// ns and waits for the Secret and Ready=True.
func syncExternalSecret(ctx context.Context, t *testing.T, admin client.Client, ctl *controller, ns, class string) {
	t.Helper()
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "store"},
		Spec: esv1.SecretStoreSpec{Controller: class, Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{
			Data: []esv1.FakeProviderData{{Key: "/app/db", Value: "postgresql://app:pw@db/app"}}}}}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "store", Kind: "SecretStore"},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			Data:            []esv1.ExternalSecretData{{SecretKey: "db-uri", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "/app/db"}}},
		}}
	for _, o := range []client.Object{store, es} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	eventually(ctx, t, ctl, "the ExternalSecret's Secret and Ready=True", func(ctx context.Context) (bool, error) {
		var got corev1.Secret
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "backend"}, &got); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		var st esv1.ExternalSecret
		if err := admin.Get(ctx, client.ObjectKeyFromObject(es), &st); err != nil {
			return false, err
		}
		ready := false
		for _, c := range st.Status.Conditions {
			ready = ready || (c.Type == esv1.ExternalSecretReady && c.Status == corev1.ConditionTrue)
		}
		return string(got.Data["db-uri"]) == "postgresql://app:pw@db/app" && ready, nil
	})
}

func newNamespace(ctx context.Context, t *testing.T, admin client.Client) string {
	t.Helper()
	name := "dropin-" + rand.String(6)
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}
