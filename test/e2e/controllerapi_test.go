package e2e

import (
	"bytes"
	"context"
	"crypto/rsa"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/cli"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/keys"
)

// staticKeys serves fixed key pairs to the HTTP API; the newest is last.
type staticKeys []*keys.Pair

func (k staticKeys) PrivateKeys() []*rsa.PrivateKey {
	out := make([]*rsa.PrivateKey, len(k))
	for i, p := range k {
		out[i] = p.Key
	}
	return out
}

func (k staticKeys) CurrentCert() ([]byte, *rsa.PublicKey, bool) {
	if len(k) == 0 {
		return nil, nil, false
	}
	p := k[len(k)-1]
	return p.CertPEM(), &p.Key.PublicKey, true
}

// serveLoopback runs h on 127.0.0.1 and returns its address.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// runCLI runs the keyward binary's entry point in-process under name
// (keyward or kubeseal) and returns exit code, stdout and stderr.
func runCLI(t *testing.T, name string, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"KUBECONFIG": cluster.Kubeconfig, "HOME": t.TempDir()}
	code := cli.Main(append([]string{name}, args...), cli.Streams{In: bytes.NewReader(stdin), Out: &out, Err: &errOut},
		func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// TestKubesealThroughServiceProxy drives kubeseal's online modes against the
// controller's HTTP API through the real API server's service proxy.
func TestKubesealThroughServiceProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	old, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	current, err := keys.Generate(2048, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Options{Keys: staticKeys{old, current}, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := cluster.ExposeService(ctx, ns, "sealed-secrets-controller", serveLoopback(t, h))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctl := []string{"--controller-namespace", ns}

	code, cert, stderr := runCLI(t, "kubeseal", nil, append([]string{"--fetch-cert"}, ctl...)...)
	if code != 0 || cert != string(current.CertPEM()) {
		t.Fatalf("kubeseal --fetch-cert: exit %d, stderr %s, got the current cert: %v", code, stderr, cert == string(current.CertPEM()))
	}

	// Seal with the old key offline, so re-encryption has work to do.
	dir := t.TempDir()
	oldCert := filepath.Join(dir, "old.pem")
	os.WriteFile(oldCert, old.CertPEM(), 0o600)
	secret := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: backend-secrets\n  namespace: " + ns +
		"\nstringData:\n  postgres-db-uri: postgresql://app:proxy-test-value@db/app\n")
	code, sealed, stderr := runCLI(t, "kubeseal", secret, "--cert", oldCert, "-o", "yaml")
	if code != 0 {
		t.Fatalf("sealing: %s", stderr)
	}

	// Sealing without --cert fetches the certificate through the proxy.
	code, online, stderr := runCLI(t, "kubeseal", secret, append([]string{"-o", "yaml"}, ctl...)...)
	if code != 0 || !strings.Contains(online, "postgres-db-uri") {
		t.Fatalf("sealing with the fetched certificate: exit %d: %s", code, stderr)
	}

	if code, _, stderr := runCLI(t, "kubeseal", []byte(sealed), append([]string{"--validate"}, ctl...)...); code != 0 {
		t.Fatalf("--validate of a good SealedSecret: exit %d: %s", code, stderr)
	}
	moved := strings.Replace(sealed, "name: backend-secrets", "name: other", 1)
	code, _, stderr = runCLI(t, "kubeseal", []byte(moved), append([]string{"--validate"}, ctl...)...)
	if code == 0 || !strings.Contains(stderr, "unable to decrypt sealed secret: other") {
		t.Fatalf("--validate of a renamed strict SealedSecret: exit %d: %s", code, stderr)
	}

	code, rotated, stderr := runCLI(t, "kubeseal", []byte(sealed), append([]string{"--re-encrypt", "-o", "yaml"}, ctl...)...)
	if code != 0 {
		t.Fatalf("--re-encrypt: exit %d: %s", code, stderr)
	}
	// The rotated manifest opens with the current key alone.
	curKey := filepath.Join(dir, "current.key")
	os.WriteFile(curKey, current.KeyPEM(), 0o600)
	code, unsealed, stderr := runCLI(t, "keyward", []byte(rotated), "unseal", "--private-key", curKey, "-o", "yaml")
	if code != 0 || !strings.Contains(unsealed, "postgres-db-uri") {
		t.Fatalf("unsealing the re-encrypted SealedSecret with the current key: exit %d: %s", code, stderr)
	}
	// keyward reencrypt, online: the controller re-seals a tree in place.
	tree := filepath.Join(dir, "k8s")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "sealed.yaml"), []byte("# staging\n"+sealed), 0o644)
	code, _, stderr = runCLI(t, "keyward", nil, append([]string{"reencrypt", tree}, ctl...)...)
	if code != 0 || !strings.Contains(stderr, "re-sealed 1 values in 1 of 1 files") {
		t.Fatalf("keyward reencrypt online: exit %d: %s", code, stderr)
	}
	inPlace, _ := os.ReadFile(filepath.Join(tree, "sealed.yaml"))
	if !strings.HasPrefix(string(inPlace), "# staging\n") {
		t.Fatal("reencrypt lost the file's comment")
	}
	if code, _, stderr := runCLI(t, "keyward", inPlace, "unseal", "--private-key", curKey); code != 0 {
		t.Fatalf("the tree re-sealed online does not open with the current key: %s", stderr)
	}
	for _, out := range []string{cert, sealed, online, rotated, stderr, string(inPlace)} {
		if strings.Contains(out, "proxy-test-value") {
			t.Fatal("plaintext leaked into CLI output")
		}
	}
}

func TestControllerServiceMissing(t *testing.T) {
	code, _, stderr := runCLI(t, "kubeseal", nil, "--fetch-cert", "--controller-namespace", "no-such-ns-"+strconv.Itoa(os.Getpid()))
	if code == 0 || !strings.Contains(stderr, "not found: is the controller installed?") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
