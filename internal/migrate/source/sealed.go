package source

import (
	"crypto/rsa"
	"fmt"
	"os"

	"github.com/keyward/keyward/internal/sealing"
)

// Sealed opens the SealedSecrets in files with private keys (loaded with
// keys.ReadPrivateKeyFiles from a PEM key or a key backup) and returns the
// Secrets they hold, in file and document order. A SealedSecret without a
// namespace (cluster-wide scope) is placed in namespace. Every document
// must open: a migration that silently dropped one would lose it.
func Sealed(files []string, privs []*rsa.PrivateKey, namespace string) ([]Secret, error) {
	if len(privs) == 0 {
		return nil, fmt.Errorf("no private key to open SealedSecrets with")
	}
	var out []Secret
	seen := map[string]string{}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("reading SealedSecrets: %w", err)
		}
		sealed, err := sealing.ReadSealedSecrets(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for i, ss := range sealed {
			sec, err := sealing.Unseal(ss, privs)
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
			}
			if sec.Namespace == "" {
				sec.Namespace = namespace
			}
			if sec.Namespace == "" {
				return nil, fmt.Errorf("%s: document %d: SealedSecret %s has no namespace and none was given (-n)", file, i+1, ss.Name)
			}
			// The owner reference Unseal adds has no UID: what controls the
			// Secret is for the cluster to say, not the file.
			sec.OwnerReferences = nil
			s := Secret{Secret: sec, Origin: Origin{Kind: FromSealed, File: file, Index: i}}
			if prev, dup := seen[s.Key()]; dup {
				return nil, fmt.Errorf("%s: document %d: SealedSecret for Secret %s also in %s", file, i+1, s.Key(), prev)
			}
			seen[s.Key()] = file
			out = append(out, s)
		}
	}
	return out, nil
}
