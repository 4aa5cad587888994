package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/sealedsecret"
	"github.com/keyward/keyward/internal/sealing"
)

// TestSealedSecretLifecycle follows one SealedSecret from apply to delete:
// the Secret appears with the sealed values, follows an update, comes back
// when deleted by hand, and is garbage-collected with its SealedSecret.
func TestSealedSecretLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	ctl := startSealedSecrets(ctx, t, ctlNS, nil)
	key := ctl.currentKey(ctx, t)
	pub := &key.Private.PublicKey

	ss := sealSecret(t, pub, ns, "backend-secrets", map[string]string{"postgres-db-uri": "postgresql://app:s3cret@db/app"},
		func(s *corev1.Secret) {
			s.Labels = map[string]string{"app": "backend"}
			s.Type = corev1.SecretTypeOpaque
		})
	ss.Spec.Template.Data = map[string]string{"dsn": "{{ index . \"postgres-db-uri\" }}?sslmode=require"}
	if err := c.Create(ctx, ss); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"postgres-db-uri": "postgresql://app:s3cret@db/app", "dsn": "postgresql://app:s3cret@db/app?sslmode=require"}
	sec := waitSecret(ctx, t, ns, "backend-secrets", hasData(want))
	if !metav1.IsControlledBy(sec, ss) || sec.Labels["app"] != "backend" || sec.Type != corev1.SecretTypeOpaque {
		t.Fatalf("Secret metadata: %+v", sec.ObjectMeta)
	}
	if _, err := time.Parse(time.RFC3339, sec.Annotations[sealedsecret.ValueChangedAnnotation]); err != nil {
		t.Errorf("value-changed mark (for audit age): %v", err)
	}
	ageSeries := `keyward_secret_value_age_seconds{name="backend-secrets",namespace="` + ns + `",owner_kind="SealedSecret"}`
	// The series is read from the controller's cache, which may see the
	// Secret a moment after this test does.
	eventually(ctx, t, ageSeries+" in the controller's metrics", func(context.Context) (bool, error) {
		return strings.Contains(ctl.metricsText(t), ageSeries), nil
	})
	if ref := sec.OwnerReferences[0]; ref.APIVersion != "bitnami.com/v1alpha1" || ref.Kind != "SealedSecret" || ref.BlockOwnerDeletion != nil {
		t.Fatalf("owner reference %+v", ref)
	}
	got := waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	if cond := syncedCondition(got); cond.Message != "" || cond.LastUpdateTime.IsZero() || cond.LastTransitionTime.IsZero() {
		t.Fatalf("condition %+v", cond)
	}
	if strings.Join(got.Status.KeyFingerprints, ",") != key.Fingerprint {
		t.Fatalf("keyFingerprints = %v, want [%s]", got.Status.KeyFingerprints, key.Fingerprint)
	}
	if v := got.Status.ValueChangedTime; v == nil || v.Time.UTC().Format(time.RFC3339) != sec.Annotations[sealedsecret.ValueChangedAnnotation] {
		t.Errorf("status.valueChangedTime %v, want the Secret's stamp %s", v, sec.Annotations[sealedsecret.ValueChangedAnnotation])
	}
	if note := waitEvent(ctx, t, ns, ss.Name, sealedsecret.EventUnsealed); note != "SealedSecret unsealed successfully" {
		t.Fatalf("event note %q", note)
	}

	t.Run("update", func(t *testing.T) {
		next := sealSecret(t, pub, ns, "backend-secrets", map[string]string{"postgres-db-uri": "postgresql://app:n3w@db/app"})
		if err := c.Get(ctx, client.ObjectKeyFromObject(ss), got); err != nil {
			t.Fatal(err)
		}
		got.Spec.EncryptedData = next.Spec.EncryptedData
		if err := c.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "backend-secrets", hasData(map[string]string{
			"postgres-db-uri": "postgresql://app:n3w@db/app", "dsn": "postgresql://app:n3w@db/app?sslmode=require"}))
		waitSynced(ctx, t, c, got, corev1.ConditionTrue)
	})

	t.Run("Secret deleted by hand comes back", func(t *testing.T) {
		old := waitSecret(ctx, t, ns, "backend-secrets", nil)
		if err := cluster.Client.Delete(ctx, old); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "backend-secrets", func(s *corev1.Secret) bool {
			return s.UID != old.UID && string(s.Data["postgres-db-uri"]) == "postgresql://app:n3w@db/app"
		})
	})

	t.Run("Secret edited by hand is put back", func(t *testing.T) {
		cur := waitSecret(ctx, t, ns, "backend-secrets", nil)
		cur.Data["postgres-db-uri"] = []byte("edited")
		if err := cluster.Client.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "backend-secrets", func(s *corev1.Secret) bool {
			return string(s.Data["postgres-db-uri"]) == "postgresql://app:n3w@db/app"
		})
	})

	t.Run("SealedSecret deleted, Secret garbage-collected", func(t *testing.T) {
		sec := waitSecret(ctx, t, ns, "backend-secrets", nil)
		if err := c.Delete(ctx, got); err != nil {
			t.Fatal(err)
		}
		waitGone(ctx, t, sec, 90*time.Second)
	})
}

// TestSealedSecretAdoption covers Secrets that exist before their
// SealedSecret: taken over with managed, merged with patch, and refused
// (and left alone) without either.
func TestSealedSecretAdoption(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	ctl := startSealedSecrets(ctx, t, ctlNS, nil)
	pub := &ctl.currentKey(ctx, t).Private.PublicKey

	existing := func(name string, annotations map[string]string) *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"by": "hand"}, Annotations: annotations},
			Data:       map[string][]byte{"token": []byte("handmade"), "extra": []byte("kept?")},
		}
		if err := cluster.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	apply := func(name string) *ssv1.SealedSecret {
		ss := sealSecret(t, pub, ns, name, map[string]string{"token": "sealed"})
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		return ss
	}

	t.Run("managed: replaced and owned", func(t *testing.T) {
		existing("managed", map[string]string{ssv1.ManagedAnnotation: "true"})
		ss := apply("managed")
		sec := waitSecret(ctx, t, ns, "managed", hasData(map[string]string{"token": "sealed"}))
		if !metav1.IsControlledBy(sec, ss) || sec.Labels["by"] != "" {
			t.Fatalf("adopted Secret metadata: %+v", sec.ObjectMeta)
		}
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	})

	t.Run("patch: merged, owners kept", func(t *testing.T) {
		existing("patched", map[string]string{ssv1.PatchAnnotation: "true"})
		ss := apply("patched")
		sec := waitSecret(ctx, t, ns, "patched", hasData(map[string]string{"token": "sealed", "extra": "kept?"}))
		if len(sec.OwnerReferences) != 0 || sec.Labels["by"] != "hand" {
			t.Fatalf("patched Secret metadata: %+v", sec.ObjectMeta)
		}
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	})

	t.Run("neither: refused, untouched", func(t *testing.T) {
		before := existing("foreign", nil)
		ss := apply("foreign")
		got := waitSynced(ctx, t, c, ss, corev1.ConditionFalse)
		if msg := syncedCondition(got).Message; msg != `Resource "foreign" already exists and is not managed by SealedSecret` {
			t.Fatalf("message %q", msg)
		}
		waitEvent(ctx, t, ns, "foreign", sealedsecret.EventErrUpdateFailed)
		assertUnchanged(ctx, t, before, "a Secret the SealedSecret does not manage was changed")
	})
}

// TestSealedSecretLegacyData opens the deprecated spec.data format.
func TestSealedSecretLegacyData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	ctl := startSealedSecrets(ctx, t, ctlNS, nil)
	pub := &ctl.currentKey(ctx, t).Private.PublicKey
	plain, _ := json.Marshal(&corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "old"},
		Data: map[string][]byte{"k": []byte("v1-value")},
	})
	// The deprecated spec.data holds the raw ciphertext of the whole Secret.
	raw, err := sealing.SealRaw(pub, sealing.Strict, ns, "old", plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	ss := &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "old"},
		Spec: ssv1.SealedSecretSpec{Data: blob, EncryptedData: ssv1.SealedSecretEncryptedData{}}}
	if err := c.Create(ctx, ss); err != nil {
		t.Fatal(err)
	}
	waitSecret(ctx, t, ns, "old", hasData(map[string]string{"k": "v1-value"}))
	waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
}
