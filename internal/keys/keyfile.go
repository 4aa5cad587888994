package keys

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"

	"github.com/keyward/keyward/internal/sealing"
)

// ReadPrivateKeyFiles loads sealing private keys from each file: PEM (PKCS#1 or
// PKCS#8) or a key Secret backup (a Secret, several, or a List).
func ReadPrivateKeyFiles(paths []string) ([]*rsa.PrivateKey, error) {
	var out []*rsa.PrivateKey
	for _, p := range paths {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading private key: %w", err)
		}
		if bytes.Contains(b, []byte("-----BEGIN")) {
			ks, err := ParsePrivateKeysPEM(b)
			if err != nil {
				return nil, fmt.Errorf("private key file %s: %w", p, err)
			}
			out = append(out, ks...)
			continue
		}
		secrets, err := sealing.ReadSecrets(bytes.NewReader(b))
		if errors.Is(err, sealing.ErrNoSecret) {
			return nil, fmt.Errorf("private key file %s: no PEM key and no key Secret", p)
		}
		if err != nil {
			return nil, fmt.Errorf("private key file %s: %w", p, err)
		}
		for _, s := range secrets {
			ks, err := FromSecret(s)
			if err != nil {
				return nil, fmt.Errorf("private key file %s: %w", p, err)
			}
			out = append(out, ks...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no private key given")
	}
	return out, nil
}
