package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/externalsecret"
	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/proc"
)

// TestRotateExternalSecret syncs an ExternalSecret with an hour-long
// refreshInterval now: the store's new value is in the Secret when the
// command returns. --dry-run names the workloads using the Secret, and the
// keys they use, and changes nothing.
func TestRotateExternalSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, app, "rotate-reader", false, map[string]map[string]string{
		"postgres": {"db-uri": "postgresql://app:first-rotate@db/aura"},
	})
	e.create(ctx, t, &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "store"},
		Spec:       esv1.SecretStoreSpec{Provider: kubeProvider(src, "rotate-reader", nil)},
	})
	e.create(ctx, t, &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend-secrets"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "store", Kind: "SecretStore"},
			RefreshInterval: esDuration(time.Hour),
			Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "postgres", Property: "db-uri"}}},
		},
	})
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool {
		return string(s.Data["postgres-db-uri"]) == "postgresql://app:first-rotate@db/aura"
	})
	opted := map[string]string{reload.AutoAnnotation: "true"}
	dbEnv := envKey("backend-secrets", "postgres-db-uri")
	e.create(ctx, t,
		deployment(app, "api", opted, podSpec(dbEnv, nil)),
		deployment(app, "legacy", nil, podSpec(dbEnv, nil)), // uses the Secret, not opted in to reload
		deployment(app, "unrelated", opted, podSpec(nil, nil)))

	// A new value in the store; the hour-long interval would not fetch it.
	store := cluster.Clientset.CoreV1().Secrets(src)
	s, err := store.Get(ctx, "postgres", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data["db-uri"] = []byte("postgresql://app:second-rotate@db/aura")
	if _, err := store.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, "keyward", nil, "rotate", "externalsecret", "backend-secrets", "-n", app, "--dry-run")
	if code != 0 || !strings.Contains(out, "would restart Deployment/"+app+"/api (uses keys postgres-db-uri)") ||
		!strings.Contains(out, "Deployment/"+app+"/legacy uses keys postgres-db-uri but is not opted in") || strings.Contains(out, "unrelated") {
		t.Fatalf("--dry-run: exit %d\n%s%s", code, out, stderr)
	}
	if got, _ := cluster.Clientset.CoreV1().Secrets(app).Get(ctx, "backend-secrets", metav1.GetOptions{}); string(got.Data["postgres-db-uri"]) != "postgresql://app:first-rotate@db/aura" {
		t.Fatal("--dry-run synced")
	}

	code, out, stderr = runCLI(t, "keyward", nil, "rotate", "externalsecret", "backend-secrets", "-n", app)
	if code != 0 || !strings.Contains(out, "synced") {
		t.Fatalf("rotate: exit %d\n%s%s", code, out, stderr)
	}
	// The command returned after the sync: the value is there now.
	got, err := cluster.Clientset.CoreV1().Secrets(app).Get(ctx, "backend-secrets", metav1.GetOptions{})
	if err != nil || string(got.Data["postgres-db-uri"]) != "postgresql://app:second-rotate@db/aura" {
		t.Fatalf("after rotate the Secret holds the old value (%v)", err)
	}
	for _, text := range []string{out, stderr} {
		if strings.Contains(text, "rotate@db") {
			t.Error("a value in the command's output")
		}
	}
	// The rotation status: when the value changed, and the next refresh.
	var es esv1.ExternalSecret
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: "backend-secrets"}, &es); err != nil {
		t.Fatal(err)
	}
	st := es.Status
	if st.ValueChangedTime == nil || st.ValueChangedTime.Time.Format(time.RFC3339) != got.Annotations[externalsecret.ValueChangedAnnotation] {
		t.Errorf("status.valueChangedTime %v, want the Secret's stamp %s", st.ValueChangedTime, got.Annotations[externalsecret.ValueChangedAnnotation])
	}
	if st.NextRefreshTime == nil || !st.NextRefreshTime.Time.Equal(st.RefreshTime.Add(time.Hour)) {
		t.Errorf("status.nextRefreshTime %v, want refreshTime %v + 1h", st.NextRefreshTime, st.RefreshTime)
	}

	code, _, stderr = runCLI(t, "keyward", nil, "rotate", "externalsecret", "no-such", "-n", app)
	if code == 0 || !strings.Contains(stderr, "ExternalSecret "+app+"/no-such not found") {
		t.Errorf("unknown ExternalSecret: exit %d: %s", code, stderr)
	}
}

// TestRotateSealingKey renews the sealing key and re-seals a tree in one
// step: the controller seals with the new key afterwards, the tree is
// sealed for it, and what it holds still opens in the cluster.
func TestRotateSealingKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, appNS, c := sealedSecretNamespaces(ctx, t)
	httpAddr := proc.FreeAddr(t)
	ctl := startSealedSecrets(ctx, t, ctlNS, func(o *manager.SealedSecretsOptions) {
		o.ListenAddr, o.RateLimit = httpAddr, -1
	})
	stop, err := cluster.ExposeService(ctx, ctlNS, "sealed-secrets-controller", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	before := ctl.currentKey(ctx, t)

	secret := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-secrets\n  namespace: " + appNS +
		"\nstringData:\n  postgres-db-uri: postgresql://app:sealing-rotate@db/app\n")
	code, sealed, stderr := runCLI(t, "kubeseal", secret, "--controller-namespace", ctlNS, "-o", "yaml")
	if code != 0 {
		t.Fatalf("sealing: %s", stderr)
	}
	tree := filepath.Join(t.TempDir(), "k8s")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tree, "backend.yaml")
	if err := os.WriteFile(file, []byte(sealed), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, "keyward", nil, "rotate", "sealing-key", "--controller-namespace", ctlNS, tree)
	if code != 0 || !strings.Contains(out, "new sealing key") || !strings.Contains(stderr, "re-sealed 1 values in 1 of 1 files") {
		t.Fatalf("rotate sealing-key: exit %d\n%s%s", code, out, stderr)
	}
	after := ctl.currentKey(ctx, t)
	if after.Fingerprint == before.Fingerprint {
		t.Fatal("the controller still seals with the old key")
	}
	resealed, err := os.ReadFile(file)
	if err != nil || string(resealed) == sealed {
		t.Fatalf("the tree was not re-sealed (%v)", err)
	}
	var ss ssv1.SealedSecret
	if err := yaml.Unmarshal(resealed, &ss); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &ss); err != nil {
		t.Fatal(err)
	}
	waitSecret(ctx, t, appNS, "backend-secrets", hasData(map[string]string{"postgres-db-uri": "postgresql://app:sealing-rotate@db/app"}))
	for _, text := range []string{out, stderr, string(resealed)} {
		if strings.Contains(text, "sealing-rotate") {
			t.Error("plaintext in the command's output or the tree")
		}
	}
}
