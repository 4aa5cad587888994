package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/sealing"
)

// Helpers shared by the interop tests, which run Keyward side by side with
// the real tools it replaces (see package test/peers).

// runPeer runs a peer's binary (kubeseal, say) against the test cluster and
// returns its exit code, stdout and stderr.
func runPeer(t *testing.T, bin string, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig, "HOME="+t.TempDir())
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return code, out.String(), errOut.String()
}

// rotateKey makes a new sealing key of bits with `keyward keys rotate` in
// namespace ns and returns the path of its certificate, written as a user
// would save it.
func rotateKey(ctx context.Context, t *testing.T, ns string, bits string) string {
	t.Helper()
	code, out, stderr := runCLI(t, "keyward", nil, "keys", "rotate", "--key-size", bits, "--controller-namespace", ns)
	m := regexp.MustCompile(`new sealing key \S+/(\S+),`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("keys rotate --key-size %s: exit %d: %s %s", bits, code, out, stderr)
	}
	s, err := cluster.Clientset.CoreV1().Secrets(ns).Get(ctx, m[1], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert-"+bits+".pem")
	if err := os.WriteFile(path, s.Data["tls.crt"], 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// secretYAML is a Secret manifest as `kubectl create secret --dry-run -o
// yaml` writes one, with the scope annotation when scope is not strict.
func secretYAML(ns, name, scope string, items map[string]string) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n")
	if a := scopeAnnotation(scope); a != "" {
		b.WriteString("  annotations:\n    " + a + ": \"true\"\n")
	}
	b.WriteString("type: Opaque\nstringData:\n")
	for k, v := range items {
		b.WriteString("  " + k + ": " + v + "\n")
	}
	return []byte(b.String())
}

func scopeAnnotation(scope string) string {
	switch scope {
	case "namespace-wide":
		return "sealedsecrets.bitnami.com/namespace-wide"
	case "cluster-wide":
		return "sealedsecrets.bitnami.com/cluster-wide"
	}
	return ""
}

// decodeSealed reads the one SealedSecret of a manifest (JSON or YAML).
func decodeSealed(t *testing.T, manifest string) *ssv1.SealedSecret {
	t.Helper()
	docs, err := sealing.ReadDocuments(strings.NewReader(manifest))
	if err != nil || len(docs) != 1 {
		t.Fatalf("reading the SealedSecret (%d documents): %v\n%s", len(docs), err, manifest)
	}
	ss, err := sealing.DecodeSealedSecret(docs[0])
	if err != nil {
		t.Fatalf("decoding the SealedSecret: %v\n%s", err, manifest)
	}
	if len(ss.Spec.EncryptedData) == 0 {
		t.Fatalf("not a SealedSecret with encryptedData:\n%s", manifest)
	}
	return ss
}
