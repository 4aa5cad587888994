package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/peers"
	"github.com/keyward/keyward/test/proc"
)

// TestInteropKubesealInKeyward: what Bitnami's own kubeseal (v0.40.0, built
// by hack/peertools) writes opens in Keyward's controller — every scope,
// RSA-2048 and RSA-4096 keys, raw values and --merge-into — and kubeseal's
// online modes work against Keyward's HTTP API through the service proxy.
func TestInteropKubesealInKeyward(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kubeseal := peers.Get(t).Kubeseal
	ctlNS, appNS := newNamespace(ctx, t), newNamespace(ctx, t)
	deleteSealedSecretsAtEnd(t, sealedSecretClient(t), appNS)
	certs := map[string]string{"4096": rotateKey(ctx, t, ctlNS, "4096"), "2048": rotateKey(ctx, t, ctlNS, "2048")}
	httpAddr := proc.FreeAddr(t)
	ctl := startSealedSecrets(ctx, t, ctlNS, func(o *manager.SealedSecretsOptions) {
		o.Namespaces, o.ListenAddr, o.RateLimit = []string{appNS}, httpAddr, -1
	})
	// kubeseal --fetch-cert below must find both keys loaded, the newest
	// current, as a Ready replica has them.
	newest, err := os.ReadFile(certs["2048"])
	if err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "the controller's newest key", func(context.Context) (bool, error) {
		k, ok := ctl.keys.Current()
		return ok && strings.TrimSpace(string(k.CertPEM)) == strings.TrimSpace(string(newest)), nil
	})
	stop, err := cluster.ExposeService(ctx, ctlNS, "sealed-secrets-controller", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c := sealedSecretClient(t)
	create := func(t *testing.T, ss *ssv1.SealedSecret, want map[string]string) {
		t.Helper()
		if err := c.Create(ctx, ss); err != nil {
			t.Fatalf("creating SealedSecret %s: %v", ss.Name, err)
		}
		waitSecret(ctx, t, appNS, ss.Name, hasData(want))
		waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	}

	t.Run("kubeseal output", func(t *testing.T) {
		for _, bits := range []string{"2048", "4096"} {
			for _, scope := range []string{"strict", "namespace-wide", "cluster-wide"} {
				t.Run("manifest-"+bits+"-"+scope, func(t *testing.T) {
					t.Parallel()
					name := "ks-" + bits + "-" + scope
					items := map[string]string{"password": "pw-" + name, "user": "app"}
					code, out, stderr := runPeer(t, kubeseal, secretYAML(appNS, name, scope, items), "--cert", certs[bits], "-o", "yaml")
					if code != 0 {
						t.Fatalf("kubeseal: exit %d: %s", code, stderr)
					}
					ss := decodeSealed(t, out)
					if scope != "strict" {
						// A wider scope is what lets the object move.
						ss.Name += "-moved"
					}
					create(t, ss, items)
				})
				t.Run("raw-"+bits+"-"+scope, func(t *testing.T) {
					t.Parallel()
					name := "raw-" + bits + "-" + scope
					value := filepath.Join(t.TempDir(), "value")
					os.WriteFile(value, []byte("raw value of "+name), 0o600)
					args := []string{"--raw", "--cert", certs[bits], "--scope", scope, "--from-file", "token=" + value}
					switch scope {
					case "strict":
						args = append(args, "--namespace", appNS, "--name", name)
					case "namespace-wide":
						args = append(args, "--namespace", appNS)
					}
					code, raw, stderr := runPeer(t, kubeseal, nil, args...)
					if code != 0 || raw == "" {
						t.Fatalf("kubeseal --raw: exit %d: %s", code, stderr)
					}
					ss := &ssv1.SealedSecret{}
					ss.Namespace, ss.Name = appNS, name
					if a := scopeAnnotation(scope); a != "" {
						ss.Annotations = map[string]string{a: "true"}
					}
					ss.Spec.EncryptedData = ssv1.SealedSecretEncryptedData{"token": raw}
					create(t, ss, map[string]string{"token": "raw value of " + name})
				})
			}
		}
		t.Run("merge-into", func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "sealed.yaml")
			first := map[string]string{"password": "first"}
			code, _, stderr := runPeer(t, kubeseal, secretYAML(appNS, "merged", "strict", first), "--cert", certs["4096"], "-w", file)
			if code != 0 {
				t.Fatalf("kubeseal -w: exit %d: %s", code, stderr)
			}
			second := map[string]string{"api-key": "second"}
			code, _, stderr = runPeer(t, kubeseal, secretYAML(appNS, "merged", "strict", second), "--cert", certs["2048"], "--merge-into", file)
			if code != 0 {
				t.Fatalf("kubeseal --merge-into: exit %d: %s", code, stderr)
			}
			merged, _ := os.ReadFile(file)
			create(t, decodeSealed(t, string(merged)), map[string]string{"password": "first", "api-key": "second"})
		})
		t.Run("online", func(t *testing.T) {
			t.Parallel()
			ctl := []string{"--controller-namespace", ctlNS, "--controller-name", "sealed-secrets-controller"}
			code, cert, stderr := runPeer(t, kubeseal, nil, append([]string{"--fetch-cert"}, ctl...)...)
			want, _ := os.ReadFile(certs["2048"])
			same := strings.TrimSpace(cert) == strings.TrimSpace(string(want))
			if code != 0 || !same {
				t.Fatalf("kubeseal --fetch-cert: exit %d, the current (newest) cert: %v: %s", code, same, stderr)
			}
			items := map[string]string{"password": "online"}
			code, sealed, stderr := runPeer(t, kubeseal, secretYAML(appNS, "online", "strict", items), "--cert", certs["4096"], "-o", "yaml")
			if code != 0 {
				t.Fatalf("kubeseal: exit %d: %s", code, stderr)
			}
			if code, _, stderr := runPeer(t, kubeseal, []byte(sealed), append([]string{"--validate"}, ctl...)...); code != 0 {
				t.Fatalf("kubeseal --validate of a good SealedSecret: exit %d: %s", code, stderr)
			}
			moved := strings.Replace(sealed, "name: online", "name: elsewhere", 1)
			code, _, stderr = runPeer(t, kubeseal, []byte(moved), append([]string{"--validate"}, ctl...)...)
			if code == 0 || !strings.Contains(stderr, "unable to decrypt sealed secret") {
				t.Fatalf("kubeseal --validate of a renamed strict SealedSecret: exit %d: %s", code, stderr)
			}
			code, rotated, stderr := runPeer(t, kubeseal, []byte(sealed), append([]string{"--re-encrypt", "-o", "yaml"}, ctl...)...)
			if code != 0 {
				t.Fatalf("kubeseal --re-encrypt: exit %d: %s", code, stderr)
			}
			ss := decodeSealed(t, rotated)
			// Re-encrypted with the current key: RSA-2048 items start 01 00.
			if v := ss.Spec.EncryptedData["password"]; !strings.HasPrefix(v, "AQ") {
				t.Fatalf("re-encrypted item is not sealed with the current RSA-2048 key: %.8s…", v)
			}
			create(t, ss, items)
		})
	})
}
