package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/sealedsecret"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/test/scale"
	"github.com/keyward/keyward/test/testkeys"
)

// testKeyPair is a fixed RSA key of the seal test vectors (generating an
// RSA-4096 key takes seconds) with a fresh certificate, as a key pair.
func testKeyPair(t testing.TB, bits string) *keys.Pair {
	t.Helper()
	priv := testkeys.RSA(t, bits)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageEncipherOnly, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keys.Pair{Key: priv, Cert: cert}
}

// applyAll creates the SealedSecrets with a few writers at once, as a
// GitOps tool applying a folder does.
func applyAll(ctx context.Context, t testing.TB, c client.Client, sss []*ssv1.SealedSecret) {
	t.Helper()
	objs := make([]client.Object, len(sss))
	for i, ss := range sss {
		objs[i] = ss
	}
	createAll(ctx, t, c, objs, 8)
}

// createAll creates objs with writers goroutines.
func createAll(ctx context.Context, t testing.TB, c client.Client, objs []client.Object, writers int) {
	t.Helper()
	if err := scale.CreateAll(ctx, c, objs, writers, nil); err != nil {
		t.Fatal(err)
	}
}

// sealMany makes n SealedSecrets "s-<i>" in ns with one item v=value-<i>.
func sealMany(t testing.TB, pub *rsa.PublicKey, ns string, n int) []*ssv1.SealedSecret {
	t.Helper()
	sss, err := scale.SealMany(pub, ns, n)
	if err != nil {
		t.Fatal(err)
	}
	return sss
}

// othersOutside counts the SealedSecrets in other namespaces: a controller
// watches them all, so each may add one unseal to its count.
func othersOutside(ctx context.Context, t testing.TB, c client.Client, ns string) int {
	t.Helper()
	var list ssv1.SealedSecretList
	if err := c.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ss := range list.Items {
		if ss.Namespace != ns {
			n++
		}
	}
	return n
}

// countSecrets counts the Secrets the controller made in ns.
func countSecrets(ctx context.Context, ns string) (int, error) {
	var list corev1.SecretList
	err := cluster.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{sealedsecret.UnsealedLabel: "true"})
	return len(list.Items), err
}

// waitAllSynced waits until every SealedSecret in ns is Synced=True for its
// generation and its Secret holds value-<i>.
func waitAllSynced(ctx context.Context, t *testing.T, c client.Client, ns string, n int) {
	t.Helper()
	eventually(ctx, t, fmt.Sprintf("%d SealedSecrets synced in %s", n, ns), func(ctx context.Context) (bool, error) {
		var list ssv1.SealedSecretList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		synced := 0
		for i := range list.Items {
			if cond := syncedCondition(&list.Items[i]); cond != nil && cond.Status == corev1.ConditionTrue &&
				list.Items[i].Status.ObservedGeneration == list.Items[i].Generation {
				synced++
			}
		}
		return synced == n, nil
	})
	var secrets corev1.SecretList
	if err := cluster.Client.List(ctx, &secrets, client.InNamespace(ns), client.MatchingLabels{sealedsecret.UnsealedLabel: "true"}); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != n {
		t.Fatalf("%d Secrets, want %d", len(secrets.Items), n)
	}
	for _, s := range secrets.Items {
		var i int
		if _, err := fmt.Sscanf(s.Name, "s-%d", &i); err != nil || string(s.Data["v"]) != fmt.Sprintf("value-%d", i) {
			t.Fatalf("Secret %s holds the wrong value", s.Name)
		}
	}
}

// TestSealedSecretControllerRestart kills the controller in the middle of
// unsealing a batch, restarts it, and checks it converges without opening
// again what was already done; a further restart with everything in sync
// decrypts nothing at all.
func TestSealedSecretControllerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	// RSA-4096, so the batch takes long enough to be killed halfway.
	pair := testKeyPair(t, "4096")
	if err := cluster.Client.Create(ctx, pair.Secret(ctlNS, "sealed-secrets-keyrestart", nil, nil)); err != nil {
		t.Fatal(err)
	}
	const n = 400
	sss := sealMany(t, &pair.Key.PublicKey, ns, n)
	others := othersOutside(ctx, t, c, ns)

	first := startControllerProcess(t, ctlNS, "--workers", "2")
	applyAll(ctx, t, c, sss)
	var done int
	eventually(ctx, t, "the first Secrets", func(ctx context.Context) (bool, error) {
		var err error
		done, err = countSecrets(ctx, ns)
		return done >= n/5, err
	})
	first.stop(t, syscall.SIGKILL)
	if done >= n {
		t.Fatalf("all %d Secrets were made before the kill; the test needs a slower batch", n)
	}
	t.Logf("killed with %d of %d Secrets made", done, n)

	second := startControllerProcess(t, ctlNS, "--workers", "2")
	waitAllSynced(ctx, t, c, ns, n)
	scrape := second.metrics()
	unsealed := metricValue(scrape, "sealed_secrets_controller_unseal_requests_total")
	if unsealed < 0 || unsealed > float64(n-done+others) {
		t.Fatalf("the restarted controller unsealed %v SealedSecrets; at most %d were left to do (%d here, %d elsewhere)",
			unsealed, n-done+others, n-done, others)
	}
	second.stop(t, syscall.SIGTERM)

	third := startControllerProcess(t, ctlNS, "--workers", "2")
	start := time.Now()
	eventually(ctx, t, "every SealedSecret seen in sync", func(context.Context) (bool, error) {
		// At least n: a late event may bring a SealedSecret round twice.
		return metricValue(third.metrics(), `sealed_secrets_controller_reconcile_duration_seconds_count{outcome="in_sync"}`) >= n, nil
	})
	t.Logf("restart with %d in sync settled %s after start", n, time.Since(start).Round(time.Millisecond))
	if v := metricValue(third.metrics(), "sealed_secrets_controller_unseal_requests_total"); v < 0 || v > float64(others) {
		t.Fatalf("a restart with everything in sync decrypted %v SealedSecrets (%d are elsewhere)", v, others)
	}
}

// TestSealedSecretLeaderElection runs two replicas: one leads, makes the
// only key and does all the unsealing while the other waits; when the
// leader stops, the other takes over at once.
func TestSealedSecretLeaderElection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	procs := []*controllerProcess{
		startControllerProcess(t, ctlNS, "--leader-elect", "--key-size", "2048"),
		startControllerProcess(t, ctlNS, "--leader-elect", "--key-size", "2048"),
	}
	const master = `leader_election_master_status{name="keyward-controller"}`
	var leader, follower *controllerProcess
	eventually(ctx, t, "a leader", func(context.Context) (bool, error) {
		for i, p := range procs {
			if metricValue(p.metrics(), master) == 1 {
				leader, follower = p, procs[1-i]
				return true, nil
			}
		}
		return false, nil
	})
	pub := &waitKeySecret(ctx, t, ctlNS).Private.PublicKey
	others := float64(othersOutside(ctx, t, c, ns))
	applyAll(ctx, t, c, sealMany(t, pub, ns, 10))
	waitAllSynced(ctx, t, c, ns, 10)

	if v := metricValue(leader.metrics(), "sealed_secrets_controller_unseal_requests_total"); v < 10 || v > 10+others {
		t.Errorf("leader unsealed %v, want 10 (and up to %v elsewhere)", v, others)
	}
	if v := metricValue(follower.metrics(), "sealed_secrets_controller_unseal_requests_total"); v != 0 {
		t.Errorf("follower unsealed %v, want 0", v)
	}
	if v := metricValue(follower.metrics(), master); v == 1 {
		t.Error("both replicas lead")
	}
	if secrets, err := keys.KeySecrets(ctx, cluster.Clientset.CoreV1(), ctlNS, keys.DefaultKeyPrefix); err != nil || len(secrets) != 1 {
		t.Fatalf("key Secrets = %d, %v; want 1 (only the leader makes keys)", len(secrets), err)
	}

	leader.stop(t, syscall.SIGTERM)
	eventually(ctx, t, "the follower to lead", func(context.Context) (bool, error) {
		return metricValue(follower.metrics(), master) == 1, nil
	})
	more := sealMany(t, pub, ns, 15)[10:]
	applyAll(ctx, t, c, more)
	waitAllSynced(ctx, t, c, ns, 15)
	if v := metricValue(follower.metrics(), "sealed_secrets_controller_unseal_requests_total"); v < 5 || v > 5+others {
		t.Errorf("new leader unsealed %v, want 5: only the new SealedSecrets (and up to %v elsewhere)", v, others)
	}
}
