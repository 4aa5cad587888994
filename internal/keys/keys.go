// Package keys handles sealing key pairs: parsing private keys and
// certificates, generating a pair offline, and the key Secret that a
// controller reads (shaped as Bitnami's, so backups move both ways); and
// the operator's view of a cluster's keys: listing what each still opens,
// backing them up and restoring them.
package keys

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Labels and names of key Secrets, as Bitnami Sealed Secrets uses them.
const (
	// KeyLabel marks a key Secret; only the value KeyLabelActive makes a
	// controller load it.
	KeyLabel       = "sealedsecrets.bitnami.com/sealed-secrets-key"
	KeyLabelActive = "active"
	// DefaultKeyPrefix is the controller's --key-prefix default.
	DefaultKeyPrefix = "sealed-secrets-key"
	// DefaultNamespace is where the standard install runs the controller.
	DefaultNamespace = "kube-system"
	// DefaultKeySize and DefaultTTL are the controller's --key-size and --key-ttl defaults.
	DefaultKeySize = 4096
	DefaultTTL     = 87600 * time.Hour
)

// ParsePrivateKeysPEM returns every RSA private key in b, PKCS#1 ("RSA
// PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"). Other blocks (certificates) are
// skipped, so a tls.key+tls.crt bundle works.
func ParsePrivateKeysPEM(b []byte) ([]*rsa.PrivateKey, error) {
	var out []*rsa.PrivateKey
	for i := 1; ; i++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d (PKCS#1): malformed private key", i)
			}
			out = append(out, k)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d (PKCS#8): malformed private key", i)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("PEM block %d: %s private key; sealing keys are RSA", i, keyKind(k))
			}
			out = append(out, rk)
		case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("PEM block %d: %s; sealing keys are RSA", i, blk.Type)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no RSA private key PEM block found")
	}
	return out, nil
}

// ParseCert reads the first certificate in a PEM file and returns its RSA
// public key. Like kubeseal it refuses a certificate whose NotAfter is before
// now: sealing for a retired key would make values nobody can open later.
func ParseCert(b []byte, now time.Time) (*x509.Certificate, *rsa.PublicKey, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, nil, errors.New("no CERTIFICATE PEM block found")
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("malformed certificate: %w", err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("certificate %q has a %s public key; sealing needs RSA", cert.Subject.String(), keyKind(cert.PublicKey))
		}
		if now.After(cert.NotAfter) {
			return nil, nil, fmt.Errorf("certificate %q expired on %s; fetch the controller's current certificate", cert.Subject.String(), cert.NotAfter.UTC().Format("January 2, 2006"))
		}
		return cert, pub, nil
	}
}

// Fingerprint names a public key: hex SHA-256 of its PKIX DER encoding, the
// same value `openssl pkey -pubin -outform DER | sha256sum` prints.
func Fingerprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func keyKind(k any) string {
	switch k.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		return "RSA"
	}
	t := fmt.Sprintf("%T", k)
	switch {
	case len(t) > 6 && t[:6] == "*ecdsa":
		return "ECDSA"
	case len(t) > 8 && t[:8] == "ed25519.":
		return "Ed25519"
	case len(t) > 5 && t[:5] == "*ecdh":
		return "ECDH"
	}
	return t
}
