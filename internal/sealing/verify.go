package sealing

import (
	"crypto/rsa"
	"fmt"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// Verify reports whether every item of ss opens with keys under the label
// its namespace, name and scope give. It only decrypts: the plaintext is
// dropped at once and no template is rendered, so nothing a SealedSecret's
// author writes can turn a value into output. This is what a "does it open"
// check exposed to untrusted callers must use, never Unseal.
//
// The error is an *UnsealError naming the items that did not open; its
// causes come from package seal and never carry plaintext.
func Verify(ss *ssv1.SealedSecret, keys []*rsa.PrivateKey) error {
	label := Label(ss)
	if ss.Spec.Data != nil {
		if len(ss.Spec.EncryptedData) > 0 {
			return fmt.Errorf("SealedSecret %s: cannot use encryptedData and the deprecated data field together", qualified(ss.Namespace, ss.Name))
		}
		if _, _, err := seal.Open(keys, label, ss.Spec.Data); err != nil {
			return &UnsealError{ss.Namespace, ss.Name, []*ItemError{{Item: "spec.data", Err: err}}}
		}
		return nil
	}
	var failed []*ItemError
	for _, k := range sortedKeys(ss.Spec.EncryptedData) {
		if _, _, err := seal.OpenString(keys, label, ss.Spec.EncryptedData[k]); err != nil {
			failed = append(failed, &ItemError{Item: k, Err: err})
		}
	}
	if len(failed) > 0 {
		return &UnsealError{ss.Namespace, ss.Name, failed}
	}
	return nil
}
