package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/keyward/keyward/internal/audit/encryption"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/proc"
)

// TestEncryptionOverTLS reads an etcd that, like a kubeadm cluster's, serves
// only TLS and asks for a client certificate: the stored envelopes are read
// with --etcd-cacert/--etcd-cert/--etcd-key, a wrong client certificate is
// refused with the endpoint named, and --etcd-prefix is followed.
func TestEncryptionOverTLS(t *testing.T) {
	assets, err := testcluster.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := newCA(t)
	ca.issue(t, dir, "server", true)
	ca.issue(t, dir, "client", false)
	other := newCA(t)
	other.issue(t, dir, "stranger", false)
	ca.writeCert(t, filepath.Join(dir, "ca.crt"))

	client, peer := proc.FreeAddr(t), proc.FreeAddr(t)
	endpoint := "https://" + client
	cmd := exec.Command(filepath.Join(assets, "etcd"),
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "default=http://"+peer,
		"--cert-file", filepath.Join(dir, "server.crt"), "--key-file", filepath.Join(dir, "server.key"),
		"--trusted-ca-file", filepath.Join(dir, "ca.crt"), "--client-cert-auth")
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	exited, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Stop(cmd.Process, exited, 10*time.Second) })

	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 20 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.pool(), MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	const planted = "tls-planted-value-5e2a"
	ctx, cancel := context.WithTimeout(background(t), time.Minute)
	defer cancel()
	// What an API server with --etcd-prefix=/cluster-a writes: a plaintext
	// Secret (protobuf) and one under aescbc.
	for key, value := range map[string]string{
		"/cluster-a/secrets/prod/plain":    "k8s\x00\n\x0c\n\x02v1\x12\x06Secret" + planted,
		"/cluster-a/secrets/prod/sealed":   "k8s:enc:aescbc:v1:k1:" + strings.Repeat("\x9f", 48),
		"/registry/secrets/prod/elsewhere": "k8s\x00" + planted,
	} {
		if _, err := kv.Put(ctx, key, value); err != nil {
			t.Fatalf("writing %s to etcd: %v\n%s", key, err, proc.TailFile(log.Name(), 20))
		}
	}

	base := []string{"audit", "encryption", "--no-progress", "--etcd-endpoint", endpoint, "--etcd-prefix", "/cluster-a",
		"--etcd-cacert", filepath.Join(dir, "ca.crt"), "-o", "json", "--fail-on", "none"}
	r := keyward(t, append(base, "--etcd-cert", filepath.Join(dir, "client.crt"), "--etcd-key", filepath.Join(dir, "client.key"))...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	noLeak(t, r, planted)
	var recs []encryption.Record
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatal(err)
	}
	got := map[string]encryption.Record{}
	for _, rec := range recs {
		got[rec.Namespace+"/"+rec.Name] = rec
	}
	if len(got) != 2 || got["prod/plain"].Encrypted || !got["prod/sealed"].Encrypted ||
		got["prod/sealed"].Provider != "aescbc" || got["prod/sealed"].Key != "k1" {
		t.Errorf("records under /cluster-a: %+v", recs)
	}

	// A client certificate from another CA, and none at all: refused, and
	// the error names the endpoint.
	for _, args := range [][]string{
		{"--etcd-cert", filepath.Join(dir, "stranger.crt"), "--etcd-key", filepath.Join(dir, "stranger.key")},
		{},
	} {
		r := keyward(t, append(base, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, endpoint) || r.stdout != "" {
			t.Errorf("%v: exit %d, want 2 naming %s, stdout empty\n%s", args, r.code, endpoint, r.stderr)
		}
		noLeak(t, r, planted)
	}
}

// testCA signs the certificates of a TLS etcd.
type testCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	der  []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test etcd ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{key: key, cert: cert, der: der}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func (ca *testCA) writeCert(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue writes dir/name.crt and dir/name.key, for a server on loopback or
// a client.
func (ca *testCA) issue(t *testing.T, dir, name string, server bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}
