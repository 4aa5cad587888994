package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/sealedsecret"
)

// tamper flips one bit near the end of a sealed value (inside the GCM
// ciphertext), keeping it valid base64 of the same length.
func tamper(t *testing.T, v string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-20] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

// TestSealedSecretSecurity: values that were altered, or a strict
// SealedSecret moved to another namespace or name, never produce or change
// a Secret, and say why in status.
func TestSealedSecretSecurity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, ns, other := newNamespace(ctx, t), newNamespace(ctx, t), newNamespace(ctx, t)
	c := sealedSecretClient(t)
	deleteSealedSecretsAtEnd(t, c, ns, other)
	ctl := startSealedSecrets(ctx, t, ctlNS, nil)
	pub := &ctl.currentKey(ctx, t).Private.PublicKey
	items := map[string]string{"password": "hunter2-security"}

	tests := []struct {
		name    string
		ss      func() *ssv1.SealedSecret
		message string
	}{
		{"tampered ciphertext", func() *ssv1.SealedSecret {
			ss := sealSecret(t, pub, ns, "tampered", items)
			ss.Spec.EncryptedData["password"] = tamper(t, ss.Spec.EncryptedData["password"])
			return ss
		}, `SealedSecret ` + ns + `/tampered: item "password": no key could decrypt secret`},
		{"strict copied to another namespace", func() *ssv1.SealedSecret {
			ss := sealSecret(t, pub, ns, "moved", items)
			ss.Namespace = other
			return ss
		}, `item "password": no key could decrypt secret (the value was sealed for a key this controller does not have, for another name or namespace, or was altered)`},
		{"strict copied to another name", func() *ssv1.SealedSecret {
			ss := sealSecret(t, pub, ns, "original", items)
			ss.Name = "renamed"
			return ss
		}, `item "password": no key could decrypt secret`},
		{"truncated value", func() *ssv1.SealedSecret {
			ss := sealSecret(t, pub, ns, "short", items)
			ss.Spec.EncryptedData["password"] = "AgA="
			return ss
		}, `item "password": ciphertext too short`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := tt.ss()
			if err := c.Create(ctx, ss); err != nil {
				t.Fatal(err)
			}
			got := waitSynced(ctx, t, c, ss, corev1.ConditionFalse)
			if msg := syncedCondition(got).Message; !strings.Contains(msg, tt.message) {
				t.Fatalf("message %q, want %q", msg, tt.message)
			}
			note := waitEvent(ctx, t, ss.Namespace, ss.Name, sealedsecret.EventErrUnsealFailed)
			if !strings.HasPrefix(note, "Failed to unseal: ") {
				t.Fatalf("event note %q", note)
			}
			err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(ss), &corev1.Secret{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("a Secret exists for a SealedSecret that does not open: %v", err)
			}
		})
	}

	t.Run("namespace-wide may be renamed", func(t *testing.T) {
		ss := sealSecret(t, pub, ns, "original-nw", items, func(s *corev1.Secret) {
			s.Annotations = map[string]string{ssv1.NamespaceWideAnnotation: "true"}
		})
		ss.Name = "renamed-nw"
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "renamed-nw", hasData(items))
	})

	t.Run("tampered update keeps the Secret", func(t *testing.T) {
		ss := sealSecret(t, pub, ns, "kept", items)
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		before := waitSecret(ctx, t, ns, "kept", hasData(items))
		got := waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
		got.Spec.EncryptedData["password"] = tamper(t, got.Spec.EncryptedData["password"])
		if err := c.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		waitSynced(ctx, t, c, got, corev1.ConditionFalse)
		assertUnchanged(ctx, t, before, "a failed unseal changed the existing Secret")
	})
}

// TestSealedSecretNoValueLeaks plants values and looks for them everywhere
// the controller writes text people can read without reading the Secret:
// its log at the most verbose level, events, status and metrics.
func TestSealedSecretNoValueLeaks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	proc := startControllerProcess(t, ctlNS, "--log-level", "DEBUG", "--key-size", "2048")
	pub := &waitKeySecret(ctx, t, ctlNS).Private.PublicKey

	planted := []string{"Pl4nted-Alpha-9931", "Pl4nted-Bravo-2209", "Pl4nted-Charlie-7714", "Pl4nted-Delta-5120"}
	good := sealSecret(t, pub, ns, "good", map[string]string{"a": planted[0], "b": planted[1]})
	good.Spec.Template.Data = map[string]string{"joined": "{{ .a }}:{{ .b }}"}
	failing := sealSecret(t, pub, ns, "failing", map[string]string{"c": planted[2]})
	failing.Spec.Template.Data = map[string]string{"loud": "{{ fail .c }}", "printed": `{{ printf "%s" .c | b64dec }}`}
	tampered := sealSecret(t, pub, ns, "tampered", map[string]string{"d": planted[3], "ok": planted[3]})
	tampered.Spec.EncryptedData["d"] = tamper(t, tampered.Spec.EncryptedData["d"])
	foreign := sealSecret(t, pub, ns, "foreign", map[string]string{"e": planted[0]})
	if err := cluster.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "foreign"}}); err != nil {
		t.Fatal(err)
	}
	for _, ss := range []*ssv1.SealedSecret{good, failing, tampered, foreign} {
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	waitSynced(ctx, t, c, good, corev1.ConditionTrue)
	for _, ss := range []*ssv1.SealedSecret{failing, tampered, foreign} {
		waitSynced(ctx, t, c, ss, corev1.ConditionFalse)
	}
	// The fail template tried to print its value: the message says so, without it.
	if got := waitSynced(ctx, t, c, failing, corev1.ConditionFalse); !strings.Contains(syncedCondition(got).Message, `item "loud": `) ||
		!strings.Contains(syncedCondition(got).Message, `template "spec.template.data[loud]": 1:3: fail was called`) ||
		!strings.Contains(syncedCondition(got).Message, `template "spec.template.data[printed]": 1:`) {
		t.Fatalf("failing template message: %q", syncedCondition(got).Message)
	}
	waitEvent(ctx, t, ns, "foreign", sealedsecret.EventErrUpdateFailed)
	// Exercise the drift and recreate paths too.
	if err := cluster.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "good"}}); err != nil {
		t.Fatal(err)
	}
	waitSecret(ctx, t, ns, "good", nil)
	metrics := proc.metrics()
	proc.stop(t, syscall.SIGTERM)

	var statuses []string
	var list ssv1.SealedSecretList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ss := range list.Items {
		b, _ := json.Marshal(ss.Status)
		statuses = append(statuses, string(b))
	}
	events, err := cluster.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventsJSON, _ := json.Marshal(events)
	logs := proc.logText()
	if !strings.Contains(logs, `"level":1`) {
		t.Fatal("the log has no debug lines: is --log-level DEBUG in effect?")
	}
	if !strings.Contains(metrics, "sealed_secrets_controller_unseal_requests_total") {
		t.Fatalf("no metrics scraped: %q", metrics)
	}
	for where, text := range map[string]string{
		"log": logs, "events": string(eventsJSON), "status": strings.Join(statuses, "\n"), "metrics": metrics,
	} {
		for _, v := range planted {
			for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
				if strings.Contains(text, form) {
					t.Errorf("%s contains planted value %q", where, form)
				}
			}
		}
	}
}
