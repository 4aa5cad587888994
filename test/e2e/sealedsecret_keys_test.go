package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
)

// TestSealedSecretKeyRotation renews the key while SealedSecrets exist:
// what was sealed with the old key keeps opening, new values use the new
// key, and status says which key opened what. No key is deleted.
func TestSealedSecretKeyRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	renew := make(chan struct{})
	ctl := startSealedSecrets(ctx, t, ctlNS, func(o *manager.SealedSecretsOptions) {
		o.RenewPeriod = 720 * time.Hour
		o.RenewNow = renew
	})
	old := ctl.currentKey(ctx, t)
	before := sealSecret(t, &old.Private.PublicKey, ns, "before", map[string]string{"v": "one"})
	if err := c.Create(ctx, before); err != nil {
		t.Fatal(err)
	}
	waitSynced(ctx, t, c, before, corev1.ConditionTrue)

	renew <- struct{}{} // as SIGUSR1 does
	var cur keys.Key
	eventually(ctx, t, "a new current key", func(context.Context) (bool, error) {
		cur = ctl.currentKey(ctx, t)
		return cur.Fingerprint != old.Fingerprint, nil
	})
	if n := len(ctl.keys.All()); n != 2 {
		t.Fatalf("keys after renewal = %d, want 2", n)
	}

	late := sealSecret(t, &old.Private.PublicKey, ns, "late", map[string]string{"v": "two"})
	fresh := sealSecret(t, &cur.Private.PublicKey, ns, "fresh", map[string]string{"v": "three"})
	for _, ss := range []client.Object{late, fresh} {
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	waitSecret(ctx, t, ns, "late", hasData(map[string]string{"v": "two"}))
	waitSecret(ctx, t, ns, "fresh", hasData(map[string]string{"v": "three"}))
	for _, w := range []struct {
		ss *ssv1.SealedSecret
		fp string
	}{{before, old.Fingerprint}, {late, old.Fingerprint}, {fresh, cur.Fingerprint}} {
		got := waitSynced(ctx, t, c, w.ss, corev1.ConditionTrue)
		if len(got.Status.KeyFingerprints) != 1 || got.Status.KeyFingerprints[0] != w.fp {
			t.Errorf("%s: keyFingerprints %v, want [%s]", w.ss.Name, got.Status.KeyFingerprints, w.fp)
		}
	}
	secrets, err := keys.KeySecrets(ctx, cluster.Clientset.CoreV1(), ctlNS, keys.DefaultKeyPrefix)
	if err != nil || len(secrets) != 2 {
		t.Fatalf("key Secrets = %d, %v; want 2 (none deleted)", len(secrets), err)
	}
}

// TestSealedSecretKeyAddedByHand: a key Secret created, relabelled or
// placed under the legacy name takes effect without a restart.
func TestSealedSecretKeyAddedByHand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	ctl := startSealedSecrets(ctx, t, ctlNS, nil)
	ctl.currentKey(ctx, t)

	byHand, err := keys.Generate(2048, "by-hand", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ss := sealSecret(t, &byHand.Key.PublicKey, ns, "imported", map[string]string{"v": "from another cluster"})
	if err := c.Create(ctx, ss); err != nil {
		t.Fatal(err)
	}
	waitSynced(ctx, t, c, ss, corev1.ConditionFalse) // no such key yet

	keySecret := byHand.Secret(ctlNS, "sealed-secrets-keymanual", nil, nil)
	if err := cluster.Client.Create(ctx, keySecret); err != nil {
		t.Fatal(err)
	}
	sec := waitSecret(ctx, t, ns, "imported", hasData(map[string]string{"v": "from another cluster"}))
	waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	if n := len(ctl.keys.All()); n != 2 {
		t.Fatalf("keys after adding one by hand = %d, want 2", n)
	}

	t.Run("relabelled compromised: withdrawn, Secret kept", func(t *testing.T) {
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(keySecret), keySecret); err != nil {
			t.Fatal(err)
		}
		keySecret.Labels[keys.KeyLabel] = "compromised"
		if err := cluster.Client.Update(ctx, keySecret); err != nil {
			t.Fatal(err)
		}
		waitSynced(ctx, t, c, ss, corev1.ConditionFalse)
		after := waitSecret(ctx, t, ns, "imported", nil)
		if after.ResourceVersion != sec.ResourceVersion {
			t.Fatal("withdrawing a key changed the Secret")
		}
	})

	t.Run("legacy key Secret named exactly the prefix", func(t *testing.T) {
		legacy := byHand.Secret(ctlNS, keys.DefaultKeyPrefix, nil, nil)
		delete(legacy.Labels, keys.KeyLabel) // pre-0.9 key Secrets had no label
		if err := cluster.Client.Create(ctx, legacy); err != nil {
			t.Fatal(err)
		}
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	})
}
