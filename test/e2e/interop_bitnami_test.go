package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/peers"
)

// TestInteropKeywardAndBitnami: a team can switch between Bitnami's
// controller (v0.40.0, built by hack/peertools) and Keyward's both ways
// with nothing lost. A key Secret Keyward made, restored into Bitnami's
// namespace, works in Bitnami's controller; `keyward seal` output opens in
// Bitnami's controller, with the certificate fetched from it through the
// service proxy; then Bitnami's key backup, restored into Keyward, opens
// every one of those SealedSecrets again in Keyward's controller.
func TestInteropKeywardAndBitnami(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins := peers.Get(t)
	bitnamiNS, keywardNS, appNS := newNamespace(ctx, t), newNamespace(ctx, t), newNamespace(ctx, t)
	c := sealedSecretClient(t)
	deleteSealedSecretsAtEnd(t, c, appNS)

	keywardCert := rotateKey(ctx, t, keywardNS, "2048")
	keywardKeys := filepath.Join(t.TempDir(), "keyward-keys.yaml")
	if code, _, stderr := runCLI(t, "keyward", nil, "keys", "backup", "-w", keywardKeys, "--controller-namespace", keywardNS); code != 0 {
		t.Fatalf("keys backup: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "keyward", nil, "keys", "restore", "-f", keywardKeys, "--controller-namespace", bitnamiNS); code != 0 {
		t.Fatalf("keys restore into Bitnami's namespace: exit %d: %s", code, stderr)
	}

	// The cutoff makes Bitnami's controller add a key of its own at start,
	// which becomes its current key; Keyward's stays for decryption.
	cutoff := time.Now().Add(time.Second).Format(time.RFC1123Z)
	bitnami := peers.StartController(t, bins.SealedSecretsController, bitnamiInCluster(ctx, t, bitnamiNS),
		"--key-size", "2048", "--key-renew-period", "0", "--key-cutoff-time", cutoff,
		"--all-namespaces=false", "--additional-namespaces", appNS)
	stop, err := cluster.ExposeService(ctx, bitnamiNS, "sealed-secrets-controller", bitnami.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	fromBitnami := []string{"--controller-namespace", bitnamiNS}
	// Its current key is its own, so what is sealed online below needs
	// Bitnami's key backup to open in Keyward.
	code, current, stderr := runPeer(t, bins.Kubeseal, nil, append([]string{"--fetch-cert"}, fromBitnami...)...)
	if code != 0 || !strings.Contains(current, "BEGIN CERTIFICATE") {
		t.Fatalf("kubeseal --fetch-cert from Bitnami's controller: exit %d: %s", code, stderr)
	}
	if kc, _ := os.ReadFile(keywardCert); strings.TrimSpace(current) == strings.TrimSpace(string(kc)) {
		t.Fatal("Bitnami's controller made no key of its own: its current certificate is Keyward's")
	}

	var mu sync.Mutex
	opened := map[string]map[string]string{} // Secret name → items
	seal := func(t *testing.T, name, scope string, args ...string) {
		items := map[string]string{"password": "pw-" + name}
		code, out, stderr := runCLI(t, "keyward", secretYAML(appNS, name, scope, items), append([]string{"seal", "-o", "yaml"}, args...)...)
		if code != 0 {
			t.Fatalf("keyward seal: exit %d: %s", code, stderr)
		}
		ss := decodeSealed(t, out)
		if scope != "strict" {
			ss.Name += "-moved"
		}
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, appNS, ss.Name, hasData(items))
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
		mu.Lock()
		opened[ss.Name] = items
		mu.Unlock()
	}
	t.Run("Bitnami opens", func(t *testing.T) {
		for _, scope := range []string{"strict", "namespace-wide", "cluster-wide"} {
			t.Run("keyward seal "+scope, func(t *testing.T) {
				t.Parallel()
				seal(t, "kw-"+scope, scope, fromBitnami...)
			})
		}
		t.Run("Keyward's key", func(t *testing.T) {
			t.Parallel()
			seal(t, "kw-key", "strict", "--cert", keywardCert)
		})
	})
	if t.Failed() {
		t.FailNow()
	}

	// Switch: back up Bitnami's keys as its docs say, stop it, lose the
	// Secrets, and let Keyward, given only the backup, make them again.
	code, backup, stderr := runPeer(t, filepath.Join(cluster.AssetsDir, "kubectl"), nil, "get", "secret", "-n", bitnamiNS,
		"-l", "sealedsecrets.bitnami.com/sealed-secrets-key", "-o", "yaml")
	if code != 0 {
		t.Fatalf("kubectl get the key Secrets: exit %d: %s", code, stderr)
	}
	bitnamiKeys := filepath.Join(t.TempDir(), "bitnami-keys.yaml")
	if err := os.WriteFile(bitnamiKeys, []byte(backup), 0o600); err != nil {
		t.Fatal(err)
	}
	bitnami.Stop()
	for name := range opened {
		if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	restoreNS := newNamespace(ctx, t)
	code, _, stderr = runCLI(t, "keyward", nil, "keys", "restore", "-f", bitnamiKeys, "--controller-namespace", restoreNS)
	if code != 0 || !strings.Contains(stderr, "restored 2 key Secrets") {
		t.Fatalf("keys restore of Bitnami's backup (its own key and Keyward's): exit %d: %s", code, stderr)
	}
	startSealedSecrets(ctx, t, restoreNS, func(o *manager.SealedSecretsOptions) { o.Namespaces = []string{appNS} })
	for name, items := range opened {
		waitSecret(ctx, t, appNS, name, hasData(items))
		waitSynced(ctx, t, c, &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name}}, corev1.ConditionTrue)
	}
}

// bitnamiInCluster gives Bitnami's controller a ServiceAccount in ns with
// the permissions its Helm chart grants, and returns what its Pod would see.
func bitnamiInCluster(ctx context.Context, t *testing.T, ns string) peers.InCluster {
	t.Helper()
	for _, obj := range peers.ChartRBAC(ns) {
		if err := cluster.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
		t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), obj) })
	}
	cfg, err := cluster.ServiceAccountConfig(ctx, ns, peers.ServiceAccount)
	if err != nil {
		t.Fatal(err)
	}
	return peers.InClusterFor(cfg, ns)
}
