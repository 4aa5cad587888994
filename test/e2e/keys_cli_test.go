package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
)

// TestKeysCommands walks the key lifecycle an operator runs by hand:
// rotate, list with usage counts, back up, lose a key, restore it.
func TestKeysCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctlNS := newNamespace(ctx, t)
	appNS := newNamespace(ctx, t)
	ctl := []string{"--controller-namespace", ctlNS}
	keysCmd := func(args ...string) (int, string, string) {
		return runCLI(t, "keyward", nil, append(append([]string{"keys"}, args...), ctl...)...)
	}

	if code, _, stderr := keysCmd("list"); code != 0 || !strings.Contains(stderr, "no sealing keys in namespace "+ctlNS) {
		t.Fatalf("list with no keys: exit %d: %s", code, stderr)
	}
	fpRE := regexp.MustCompile(`fingerprint ([0-9a-f]{64})`)
	var fps []string
	for range 2 {
		code, out, stderr := keysCmd("rotate", "--key-size", "2048")
		m := fpRE.FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("rotate: exit %d: %s %s", code, out, stderr)
		}
		fps = append(fps, m[1])
	}

	// One SealedSecret records the first key; one has no record yet.
	c := sealedSecretClient(t)
	for i, name := range []string{"recorded", "unrecorded"} {
		ss := &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name},
			Spec: ssv1.SealedSecretSpec{EncryptedData: ssv1.SealedSecretEncryptedData{}}}
		if err := c.Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			ss.Status = &ssv1.SealedSecretStatus{KeyFingerprints: []string{fps[0]}}
			if err := c.Status().Update(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, stderr := keysCmd("list")
	if code != 0 {
		t.Fatalf("list: %s", stderr)
	}
	rowRE := regexp.MustCompile(`(?m)^` + fps[0][:16] + `\s+sealed-secrets-key\S+\s+\S+\s+\d{4}-\d\d-\d\d\s+1\b`)
	if !rowRE.MatchString(out) || !strings.Contains(out, fps[1][:16]) || strings.Count(out, "current") != 1 {
		t.Fatalf("list output:\n%s", out)
	}
	if !strings.Contains(stderr, "1 SealedSecrets have no key record") {
		t.Fatalf("list stderr: %s", stderr)
	}

	backup := filepath.Join(t.TempDir(), "keys.yaml")
	if code, _, stderr := keysCmd("backup", "-w", backup); code != 0 || !strings.Contains(stderr, "backed up 2 key Secrets") {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	if info, err := os.Stat(backup); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode: %v %v", info.Mode(), err)
	}

	// Lose a key, then restore it from the backup.
	secrets, err := keys.KeySecrets(ctx, cluster.Clientset.CoreV1(), ctlNS, keys.DefaultKeyPrefix)
	if err != nil || len(secrets) != 2 {
		t.Fatalf("key Secrets: %d, %v", len(secrets), err)
	}
	if err := cluster.Client.Delete(ctx, &secrets[0]); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := keysCmd("restore", "-f", backup); code != 0 || !strings.Contains(stderr, "restored 1 key Secrets into "+ctlNS+" (1 already there)") {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	if after, _ := keys.KeySecrets(ctx, cluster.Clientset.CoreV1(), ctlNS, keys.DefaultKeyPrefix); len(after) != 2 {
		t.Fatalf("after restore: %d key Secrets", len(after))
	}

	// A backup whose key differs from the live one under the same name is
	// refused, and nothing is overwritten.
	other, _ := keys.Generate(2048, "", time.Hour, time.Now())
	clash := other.Secret(ctlNS, secrets[1].Name, map[string]string{keys.KeyLabel: keys.KeyLabelActive}, nil)
	clashFile := filepath.Join(t.TempDir(), "clash.json")
	writeJSON(t, clashFile, clash)
	if code, _, stderr := keysCmd("restore", "-f", clashFile); code == 0 || !strings.Contains(stderr, "exists with a different key; not overwriting") {
		t.Fatalf("conflicting restore: exit %d: %s", code, stderr)
	}
	var live corev1.Secret
	if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(&secrets[1]), &live); err != nil || string(live.Data["tls.key"]) != string(secrets[1].Data["tls.key"]) {
		t.Fatalf("live key Secret changed: %v", err)
	}
}

func sealedSecretClient(t testing.TB) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := ssv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(t *testing.T, path string, obj any) {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
