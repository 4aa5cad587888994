package keys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pair is a sealing key pair with its self-signed certificate.
type Pair struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// Generate makes a key pair and certificate the way the controller does: a
// random 128-bit serial, subject and issuer CN=cn only, valid from now for
// ttl, KeyUsage encipherOnly and BasicConstraints CA, both critical.
func Generate(bits int, cn string, ttl time.Duration, now time.Time) (*Pair, error) {
	switch bits {
	case 2048, 3072, 4096:
	default:
		return nil, fmt.Errorf("key size %d: must be 2048, 3072 or 4096", bits)
	}
	if ttl <= 0 {
		return nil, errors.New("key TTL must be positive")
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generating RSA-%d key: %w", bits, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating serial: %w", err)
	}
	var name pkix.Name
	if cn != "" {
		name.CommonName = cn
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		Issuer:                name,
		NotBefore:             now.UTC(),
		NotAfter:              now.UTC().Add(ttl),
		KeyUsage:              x509.KeyUsageEncipherOnly,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("reading back certificate: %w", err)
	}
	return &Pair{Key: key, Cert: cert}, nil
}

// CertPEM is the certificate as distributed to people who seal.
func (p *Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw})
}

// KeyPEM is the private key in PKCS#1, the form the controller writes.
func (p *Pair) KeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.Key)})
}

// Secret is the key Secret a controller loads: type kubernetes.io/tls,
// labelled active, in namespace.
func (p *Pair) Secret(namespace, name string, labels, annotations map[string]string) *corev1.Secret {
	l := map[string]string{KeyLabel: KeyLabelActive}
	for k, v := range labels {
		l[k] = v
	}
	var a map[string]string
	if len(annotations) > 0 {
		a = map[string]string{}
		for k, v := range annotations {
			a[k] = v
		}
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: l, Annotations: a},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSPrivateKeyKey: p.KeyPEM(),
			corev1.TLSCertKey:       p.CertPEM(),
		},
	}
}

// FromSecret reads the private key of a key Secret (a backup of the
// controller's keys): its tls.key item.
func FromSecret(s *corev1.Secret) ([]*rsa.PrivateKey, error) {
	b, ok := s.Data[corev1.TLSPrivateKeyKey]
	if !ok {
		if str, ok2 := s.StringData[corev1.TLSPrivateKeyKey]; ok2 {
			b, ok = []byte(str), true
		}
	}
	if !ok {
		return nil, fmt.Errorf("secret %s/%s: no %s item", s.Namespace, s.Name, corev1.TLSPrivateKeyKey)
	}
	ks, err := ParsePrivateKeysPEM(b)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s item %s: %w", s.Namespace, s.Name, corev1.TLSPrivateKeyKey, err)
	}
	return ks, nil
}

// nameChars are the characters the API server uses for generateName
// suffixes (no vowels, no look-alikes).
const nameChars = "bcdfghjklmnpqrstvwxz2456789"

// RandomName is prefix plus five random characters, what the controller's
// generateName would give, so a manifest can be applied with a fixed name.
func RandomName(prefix string) string {
	b := make([]byte, 5)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(nameChars))))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = nameChars[n.Int64()]
	}
	return prefix + string(b)
}
