package vault

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	testvault "github.com/keyward/keyward/test/vault"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyward test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and key (PEM) for a server at 127.0.0.1 or a client.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestTLS runs Vault with a second listener that requires a client
// certificate from the test CA: a store trusting that CA and presenting a
// client certificate reads through it, and logs in with cert auth.
func TestTLS(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	srvCert, srvKey := ca.issue(t, "vault", true)
	cliCert, cliKey := ca.issue(t, "keyward", false)
	files := map[string][]byte{"ca.pem": ca.pem, "server.pem": srvCert, "server-key.pem": srvKey}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	v := testvault.Start(t, testvault.Options{Config: fmt.Sprintf(`
listener "tcp" {
  address                            = %q
  tls_cert_file                      = %q
  tls_key_file                       = %q
  tls_client_ca_file                 = %q
  tls_require_and_verify_client_cert = "true"
}
`, addr, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem"))})
	if err := v.Client.Sys().PutPolicy("keyward", policy); err != nil {
		t.Fatal(err)
	}
	kvPut(t, v, "secret/data/app", map[string]any{"k": "over-tls"})
	vaultCall(t, v, "sys/auth/cert", map[string]any{"type": "cert"})
	vaultCall(t, v, "auth/cert/certs/keyward", map[string]any{"certificate": string(ca.pem), "token_policies": "keyward"})
	tok := vaultCall(t, v, "auth/token/create", map[string]any{"policies": []string{"keyward"}})

	k := newKube(t, map[string]map[string]string{
		"client-tls": {"tls.crt": string(cliCert), "tls.key": string(cliKey)},
		"vault":      {"token": tok.Auth.ClientToken},
		"ca":         {"ca.crt": string(ca.pem)},
	})
	tokenAuth := &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault", Key: "token"}}
	clientTLS := esv1.VaultClientTLS{CertSecretRef: &esv1.SecretKeySelector{Name: "client-tls", Key: "tls.crt"},
		KeySecretRef: &esv1.SecretKeySelector{Name: "client-tls", Key: "tls.key"}}
	tests := []struct {
		name    string
		spec    esv1.VaultProvider
		wantErr string
	}{
		{name: "caBundle and client certificate", spec: esv1.VaultProvider{CABundle: base64.StdEncoding.EncodeToString(ca.pem), TLS: clientTLS, Auth: tokenAuth}},
		{name: "caProvider Secret", spec: esv1.VaultProvider{CAProvider: &esv1.CAProvider{Type: "Secret", Name: "ca", Key: "ca.crt"}, TLS: clientTLS, Auth: tokenAuth}},
		{name: "cert auth presents its certificate", spec: esv1.VaultProvider{CABundle: base64.StdEncoding.EncodeToString(ca.pem),
			Auth: &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{ClientCert: esv1.SecretKeySelector{Name: "client-tls", Key: "tls.crt"},
				SecretRef: esv1.SecretKeySelector{Name: "client-tls", Key: "tls.key"}}}}},
		// TLS 1.3 refuses a missing client certificate after the handshake:
		// the error is a closed connection or an alert, depending on timing.
		{name: "no client certificate", spec: esv1.VaultProvider{CABundle: base64.StdEncoding.EncodeToString(ca.pem), Auth: tokenAuth}, wantErr: "secret/data/app"},
		{name: "untrusted server", spec: esv1.VaultProvider{TLS: clientTLS, Auth: tokenAuth}, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			spec := tt.spec
			spec.Server, spec.Path = "https://"+addr, str("secret")
			c, err := New().NewClient(ctx, store(&spec), k, testNS)
			if err == nil {
				defer c.Close()
				var got []byte
				s, rerr := c.Read(ctx, "app", "")
				if err = rerr; err == nil {
					got, err = s.Property("k")
					if err == nil && string(got) != "over-tls" {
						t.Errorf("k = %q", got)
					}
				}
			}
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v; want one about %q", err, tt.wantErr)
			}
		})
	}
}
