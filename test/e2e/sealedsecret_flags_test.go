package e2e

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/sealedsecret"
	"github.com/keyward/keyward/test/proc"
)

// Bitnami's flags that choose what the controller serves and how Secrets
// go, tried as a migrating team would: `keyward controller` as its own
// process with the flags of Bitnami's Deployment.

// TestSealedSecretFlagNamespaces: with --all-namespaces=false and
// --additional-namespaces, SealedSecrets in the controller's namespace and
// the additional one get their Secrets; one in a third namespace gets no
// Secret and no status, and is not even opened.
func TestSealedSecretFlagNamespaces(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctlNS, extra, third := newNamespace(ctx, t), newNamespace(ctx, t), newNamespace(ctx, t)
	c := sealedSecretClient(t)
	deleteSealedSecretsAtEnd(t, c, ctlNS, extra, third)
	proc := startControllerProcess(t, ctlNS, "--key-size", "2048",
		"--all-namespaces=false", "--additional-namespaces", extra)
	pub := &waitKeySecret(ctx, t, ctlNS).Private.PublicKey

	// The one not served first, so the served ones are done after it.
	outside := createSealed(ctx, t, c, pub, third, "app", nil)
	own := createSealed(ctx, t, c, pub, ctlNS, "app", nil)
	added := createSealed(ctx, t, c, pub, extra, "app", nil)
	for _, ss := range []*ssv1.SealedSecret{own, added} {
		waitSecret(ctx, t, ss.Namespace, ss.Name, hasData(map[string]string{"token": ss.Namespace}))
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	}
	untouched(ctx, t, c, outside, 3*time.Second)
	if v := metricValue(proc.metrics(), "sealed_secrets_controller_unseal_requests_total"); v != 2 {
		t.Fatalf("unseal_requests_total = %v, want 2: only the SealedSecrets of the two served namespaces", v)
	}

	// The Secret informers are per namespace too: a Secret deleted in the
	// additional namespace comes back.
	t.Run("Secret deleted in the additional namespace comes back", func(t *testing.T) {
		old := waitSecret(ctx, t, extra, "app", nil)
		if err := cluster.Client.Delete(ctx, old); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, extra, "app", func(s *corev1.Secret) bool { return s.UID != old.UID })
	})
}

// TestSealedSecretFlagLabelSelector: with --label-selector only matching
// SealedSecrets are unsealed; the others are not touched until their
// labels match.
func TestSealedSecretFlagLabelSelector(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	// A label unique to this test, since the controller serves every namespace.
	const label = "e2e.keyward.dev/served-by"
	proc := startControllerProcess(t, ctlNS, "--key-size", "2048",
		"--label-selector", fmt.Sprintf("%s in (%s),!e2e.keyward.dev/excluded", label, ns))
	pub := &waitKeySecret(ctx, t, ctlNS).Private.PublicKey

	other := createSealed(ctx, t, c, pub, ns, "other", map[string]string{label: "someone-else"})
	unlabelled := createSealed(ctx, t, c, pub, ns, "unlabelled", nil)
	excluded := createSealed(ctx, t, c, pub, ns, "excluded", map[string]string{label: ns, "e2e.keyward.dev/excluded": "yes"})
	match := createSealed(ctx, t, c, pub, ns, "match", map[string]string{label: ns})
	sec := waitSecret(ctx, t, ns, "match", hasData(map[string]string{"token": ns}))
	waitSynced(ctx, t, c, match, corev1.ConditionTrue)
	if sec.Labels[label] != "" {
		t.Fatalf("the Secret carries the SealedSecret's label: %v", sec.Labels)
	}
	for _, ss := range []*ssv1.SealedSecret{other, unlabelled, excluded} {
		untouched(ctx, t, c, ss, time.Second)
	}
	if v := metricValue(proc.metrics(), "sealed_secrets_controller_unseal_requests_total"); v != 1 {
		t.Fatalf("unseal_requests_total = %v, want 1", v)
	}

	t.Run("the Secret of a match is watched without the SealedSecret's labels", func(t *testing.T) {
		old := waitSecret(ctx, t, ns, "match", nil)
		if err := cluster.Client.Delete(ctx, old); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "match", func(s *corev1.Secret) bool { return s.UID != old.UID })
	})

	t.Run("relabelled to match, it is unsealed", func(t *testing.T) {
		patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, label, ns))
		if err := c.Patch(ctx, other, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			t.Fatal(err)
		}
		waitSecret(ctx, t, ns, "other", hasData(map[string]string{"token": ns}))
		waitSynced(ctx, t, c, other, corev1.ConditionTrue)
	})
}

// TestSealedSecretFlagOldGCBehavior: with --old-gc-behavior the controller
// deletes the Secret of a deleted SealedSecret itself, which matters when
// the template says skip-set-owner-references (no owner reference, so no
// garbage collection); a same-named Secret it did not make survives.
func TestSealedSecretFlagOldGCBehavior(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ctlNS, ns, c := sealedSecretNamespaces(ctx, t)
	startControllerProcess(t, ctlNS, "--key-size", "2048", "--all-namespaces=false", "--additional-namespaces", ns,
		"--old-gc-behavior")
	pub := &waitKeySecret(ctx, t, ctlNS).Private.PublicKey
	skipOwner := func(s *corev1.Secret) {
		s.Annotations = map[string]string{ssv1.SkipSetOwnerReferencesAnnotation: "true"}
	}

	t.Run("the Secret it made goes with the SealedSecret", func(t *testing.T) {
		ss := sealSecret(t, pub, ns, "made", map[string]string{"token": "sealed"}, skipOwner)
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		sec := waitSecret(ctx, t, ns, "made", hasData(map[string]string{"token": "sealed"}))
		if len(sec.OwnerReferences) != 0 || sec.Labels[sealedsecret.UnsealedLabel] != "true" {
			t.Fatalf("Secret metadata: %+v", sec.ObjectMeta)
		}
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
		if err := c.Delete(ctx, ss); err != nil {
			t.Fatal(err)
		}
		// No owner reference: only the controller can have deleted it.
		waitGone(ctx, t, sec, 90*time.Second)
	})

	tests := []struct {
		name        string
		annotations map[string]string
		synced      corev1.ConditionStatus
		data        map[string]string // after the SealedSecret is applied
	}{
		{
			name: "a hand-made Secret the controller refused survives", synced: corev1.ConditionFalse,
			data: map[string]string{"token": "handmade", "extra": "kept"},
		},
		{
			name: "a hand-made Secret the controller only patched survives", synced: corev1.ConditionTrue,
			annotations: map[string]string{ssv1.PatchAnnotation: "true"},
			data:        map[string]string{"token": "sealed", "extra": "kept"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("handmade-%d", i)
			pre := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: tt.annotations},
				StringData: map[string]string{"token": "handmade", "extra": "kept"},
			}
			if err := cluster.Client.Create(ctx, pre); err != nil {
				t.Fatal(err)
			}
			ss := sealSecret(t, pub, ns, name, map[string]string{"token": "sealed"}, skipOwner)
			if err := c.Create(ctx, ss); err != nil {
				t.Fatal(err)
			}
			waitSynced(ctx, t, c, ss, tt.synced)
			waitSecret(ctx, t, ns, name, hasData(tt.data))
			if err := c.Delete(ctx, ss); err != nil {
				t.Fatal(err)
			}
			// A SealedSecret deleted after this one whose Secret is gone
			// shows the controller has handled deletions since.
			marker := sealSecret(t, pub, ns, name+"-marker", map[string]string{"token": "sealed"}, skipOwner)
			if err := c.Create(ctx, marker); err != nil {
				t.Fatal(err)
			}
			markerSecret := waitSecret(ctx, t, ns, marker.Name, nil)
			if err := c.Delete(ctx, marker); err != nil {
				t.Fatal(err)
			}
			waitGone(ctx, t, markerSecret, 90*time.Second)
			// Reads use the test's context (see untouched).
			err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Second, true, func(context.Context) (bool, error) {
				s := &corev1.Secret{}
				err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)
				if err != nil {
					return false, err
				}
				if !hasData(tt.data)(s) {
					return false, fmt.Errorf("Secret changed: %v", s.Data)
				}
				return false, nil
			})
			if !wait.Interrupted(err) {
				t.Fatalf("the Secret the controller did not make: %v", err)
			}
		})
	}
}

// TestSealedSecretFlagReadTimeout: --read-timeout reaches the HTTP API
// server: a client that stops sending its request body is cut off after
// it, not after Bitnami's default two minutes.
func TestSealedSecretFlagReadTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctlNS := newNamespace(ctx, t)
	addr := proc.FreeAddr(t)
	startControllerProcess(t, ctlNS, "--key-size", "2048", "--listen-addr", addr, "--read-timeout", "1s", "--write-timeout", "1m")
	var conn net.Conn
	eventually(ctx, t, "the HTTP API on "+addr, func(ctx context.Context) (bool, error) {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		return err == nil, nil
	})
	defer conn.Close()
	start := time.Now()
	// Headers and a quarter of the body it announces, then nothing.
	if _, err := io.WriteString(conn, "POST /v1/rotate HTTP/1.1\r\nHost: keyward\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"apiVersion\":\"bitnami.com/v1alpha1\",\"kind\":\"SealedSecret\",\"metadata\":{\"name\":\"slow\""); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The server answers the failed read, or just closes: either way the
	// connection ends.
	_, err := io.Copy(io.Discard, conn)
	took := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still waited for the body after %s", took.Round(time.Millisecond))
	}
	if took > 10*time.Second {
		t.Fatalf("the connection ended after %s, want about 1s", took.Round(time.Millisecond))
	}
	t.Logf("a stalled request was cut off after %s", took.Round(time.Millisecond))
}

// createSealed applies a SealedSecret ns/name holding token=ns, with
// labels on the SealedSecret itself (not its template).
func createSealed(ctx context.Context, t *testing.T, c client.Client, pub *rsa.PublicKey, ns, name string, labels map[string]string) *ssv1.SealedSecret {
	t.Helper()
	ss := sealSecret(t, pub, ns, name, map[string]string{"token": ns})
	ss.Labels = labels
	if err := c.Create(ctx, ss); err != nil {
		t.Fatal(err)
	}
	return ss
}

// untouched checks for d that the SealedSecret has no Secret and no status.
func untouched(ctx context.Context, t *testing.T, c client.Client, ss *ssv1.SealedSecret, d time.Duration) {
	t.Helper()
	// The reads use the test's context, not the poll's: a read queued by the
	// client's rate limiter near the end of d would otherwise fail instead
	// of letting the poll end.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, d, true, func(context.Context) (bool, error) {
		switch err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(ss), &corev1.Secret{}); {
		case err == nil:
			return false, fmt.Errorf("it has a Secret")
		case !apierrors.IsNotFound(err):
			return false, err
		}
		got := &ssv1.SealedSecret{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ss), got); err != nil {
			return false, err
		}
		if got.Status != nil {
			return false, fmt.Errorf("status written: %+v", got.Status)
		}
		return false, nil
	})
	if !wait.Interrupted(err) {
		t.Fatalf("SealedSecret %s/%s not served, yet: %v", ss.Namespace, ss.Name, err)
	}
}
