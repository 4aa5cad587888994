package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newPair(t *testing.T) *Pair {
	t.Helper()
	p, err := Generate(2048, "keyward-test", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateMatchesController(t *testing.T) {
	p := newPair(t)
	c := p.Cert
	if c.Subject.CommonName != "keyward-test" || c.Issuer.String() != c.Subject.String() {
		t.Errorf("subject %q issuer %q", c.Subject, c.Issuer)
	}
	if c.KeyUsage != x509.KeyUsageEncipherOnly || !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("usage %v CA %v", c.KeyUsage, c.IsCA)
	}
	if !c.NotBefore.Equal(now) || !c.NotAfter.Equal(now.Add(time.Hour)) {
		t.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
	}
	if c.SerialNumber.BitLen() > 128 || len(c.SubjectKeyId) == 0 {
		t.Errorf("serial %v ski %x", c.SerialNumber, c.SubjectKeyId)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	empty, err := Generate(2048, "", time.Hour, now)
	if err != nil || len(empty.Cert.Subject.Names) != 0 {
		t.Errorf("default CN should give an empty DN, got %q (%v)", empty.Cert.Subject, err)
	}
	for _, bad := range []int{1024, 8192} {
		if _, err := Generate(bad, "", time.Hour, now); err == nil {
			t.Errorf("size %d accepted", bad)
		}
	}
	if _, err := Generate(2048, "", 0, now); err == nil {
		t.Error("zero TTL accepted")
	}
}

func TestSecretRoundTrip(t *testing.T) {
	p := newPair(t)
	s := p.Secret("kube-system", "sealed-secrets-keyabcde", map[string]string{"team": "a"}, map[string]string{"note": "x"})
	if s.Type != corev1.SecretTypeTLS || s.Labels[KeyLabel] != "active" || s.Labels["team"] != "a" || s.Annotations["note"] != "x" {
		t.Fatalf("secret shape: %+v", s.ObjectMeta)
	}
	if !strings.HasPrefix(string(s.Data["tls.key"]), "-----BEGIN RSA PRIVATE KEY-----") {
		t.Fatal("tls.key is not PKCS#1 PEM")
	}
	ks, err := FromSecret(s)
	if err != nil || len(ks) != 1 || !ks[0].Equal(p.Key) {
		t.Fatalf("FromSecret: %v", err)
	}
	_, pub, err := ParseCert(s.Data["tls.crt"], now)
	if err != nil || !pub.Equal(&p.Key.PublicKey) {
		t.Fatalf("ParseCert: %v", err)
	}
	delete(s.Data, "tls.key")
	if _, err := FromSecret(s); err == nil || !strings.Contains(err.Error(), "kube-system/sealed-secrets-keyabcde") {
		t.Fatalf("missing tls.key: %v", err)
	}
	if n := RandomName(DefaultKeyPrefix); len(n) != len(DefaultKeyPrefix)+5 || !strings.HasPrefix(n, DefaultKeyPrefix) {
		t.Fatalf("RandomName = %q", n)
	}
}

func TestParsePrivateKeysPEM(t *testing.T) {
	p := newPair(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p.Key)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec8, _ := x509.MarshalPKCS8PrivateKey(ec)
	enc := func(typ string, b []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})) }
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"pkcs1", string(p.KeyPEM()), 1, ""},
		{"pkcs8", enc("PRIVATE KEY", pkcs8), 1, ""},
		{"both plus cert", string(p.KeyPEM()) + string(p.CertPEM()) + enc("PRIVATE KEY", pkcs8), 2, ""},
		{"cert only", string(p.CertPEM()), 0, "no RSA private key"},
		{"ec pkcs8", enc("PRIVATE KEY", ec8), 0, "ECDSA private key; sealing keys are RSA"},
		{"garbage pkcs1", enc("RSA PRIVATE KEY", []byte("planted-secret")), 0, "PKCS#1"},
		{"not pem", "planted-secret", 0, "no RSA private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParsePrivateKeysPEM([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "planted-secret") {
					t.Fatal("error leaks input")
				}
				return
			}
			if err != nil || len(ks) != tt.want {
				t.Fatalf("got %d keys, %v", len(ks), err)
			}
		})
	}
}

func TestParseCert(t *testing.T) {
	p := newPair(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ec"}, NotBefore: now, NotAfter: now.Add(time.Hour)}
	ecDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ecDER})
	tests := []struct {
		name    string
		in      []byte
		at      time.Time
		wantErr string
	}{
		{"valid", p.CertPEM(), now, ""},
		{"key before cert is skipped", append(p.KeyPEM(), p.CertPEM()...), now, ""},
		{"expired", p.CertPEM(), now.Add(2 * time.Hour), "expired on May 1, 2026"},
		{"ecdsa", ecPEM, now, "ECDSA public key; sealing needs RSA"},
		{"empty", nil, now, "no CERTIFICATE"},
		{"garbage", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), now, "malformed certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pub, err := ParseCert(tt.in, tt.at)
			if tt.wantErr == "" {
				if err != nil || pub == nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a, b := newPair(t), newPair(t)
	fa := Fingerprint(&a.Key.PublicKey)
	if len(fa) != 64 || fa != Fingerprint(&a.Key.PublicKey) || fa == Fingerprint(&b.Key.PublicKey) {
		t.Fatalf("fingerprint %q not stable and distinct", fa)
	}
}
