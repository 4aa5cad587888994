package sealing

import (
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// Reencrypt returns a copy of ss whose encryptedData values (or deprecated
// spec.data blob) are opened with keys and sealed again for pub under the
// same label. Nothing else changes: item names, template, metadata and scope
// stay as they are, so a re-encrypted manifest diffs only in its ciphertexts.
// The plaintext lives only in memory for the length of one item.
func Reencrypt(ss *ssv1.SealedSecret, keys []*rsa.PrivateKey, pub *rsa.PublicKey) (*ssv1.SealedSecret, error) {
	return reencrypt(ss, keys, pub, false)
}

// ReencryptStale is Reencrypt that leaves alone the encryptedData values
// already sealed for pub, so a tree re-encrypted twice changes only once.
// The deprecated spec.data blob is always sealed again.
func ReencryptStale(ss *ssv1.SealedSecret, keys []*rsa.PrivateKey, pub *rsa.PublicKey) (*ssv1.SealedSecret, error) {
	return reencrypt(ss, keys, pub, true)
}

func reencrypt(ss *ssv1.SealedSecret, keys []*rsa.PrivateKey, pub *rsa.PublicKey, keepCurrent bool) (*ssv1.SealedSecret, error) {
	enc, err := seal.NewEncrypter(pub)
	if err != nil {
		return nil, err
	}
	label := Label(ss)
	out := ss.DeepCopy()
	if ss.Spec.Data != nil {
		plain, err := seal.Decrypt(keys, label, ss.Spec.Data)
		if err != nil {
			return nil, &UnsealError{ss.Namespace, ss.Name, []*ItemError{{Item: "spec.data", Err: err}}}
		}
		if out.Spec.Data, err = enc.Encrypt(nil, label, plain); err != nil {
			return nil, fmt.Errorf("SealedSecret %s: re-sealing spec.data: %w", qualified(ss.Namespace, ss.Name), err)
		}
		return out, nil
	}
	var failed []*ItemError
	for _, k := range sortedKeys(ss.Spec.EncryptedData) {
		plain, idx, err := seal.OpenString(keys, label, ss.Spec.EncryptedData[k])
		if err != nil {
			failed = append(failed, &ItemError{Item: k, Err: err})
			continue
		}
		if keepCurrent && keys[idx].PublicKey.Equal(pub) {
			continue
		}
		ct, err := enc.Encrypt(nil, label, plain)
		if err != nil {
			failed = append(failed, &ItemError{Item: k, Err: err})
			continue
		}
		out.Spec.EncryptedData[k] = base64.StdEncoding.EncodeToString(ct)
	}
	if len(failed) > 0 {
		return nil, &UnsealError{ss.Namespace, ss.Name, failed}
	}
	return out, nil
}
