package sealing

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// Receipt holds the session keys one SealedSecret's items were sealed
// under. With it the sealer proves, without the private key, that a
// SealedSecret read back (from disk, from Git) holds exactly the values it
// sealed: the controller's key holder can then confirm the RSA part opens
// (/v1/verify) without ever sending a value back. A Receipt is key
// material: keep it in memory only, and Wipe it when done.
type Receipt struct {
	namespace, name string
	keys            map[string][]byte
}

// Wipe overwrites the session keys.
func (r *Receipt) Wipe() {
	if r == nil {
		return
	}
	for k, v := range r.keys {
		clear(v)
		delete(r.keys, k)
	}
}

// Match checks that ss is the SealedSecret r was issued for and that its
// items are exactly want's keys, each opening under its session key to
// want's value byte for byte. The error names items, never values.
func (r *Receipt) Match(ss *ssv1.SealedSecret, want map[string][]byte) error {
	what := "SealedSecret " + qualified(ss.Namespace, ss.Name)
	if ss.Namespace != r.namespace || ss.Name != r.name {
		return fmt.Errorf("%s: sealed as %s", what, qualified(r.namespace, r.name))
	}
	if len(ss.Spec.Data) > 0 {
		return fmt.Errorf("%s: has the deprecated spec.data, which this sealing did not write", what)
	}
	var problems []string
	for _, k := range sortedKeys(want) {
		ct, ok := ss.Spec.EncryptedData[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("item %q is missing", k))
			continue
		}
		session, ok := r.keys[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("item %q was not sealed by this run", k))
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(ct)
		if err != nil {
			problems = append(problems, fmt.Sprintf("item %q is not valid base64", k))
			continue
		}
		plain, err := seal.OpenSealed(session, raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("item %q: %v", k, err))
			continue
		}
		same := len(plain) == len(want[k]) && subtle.ConstantTimeCompare(plain, want[k]) == 1
		clear(plain)
		if !same {
			problems = append(problems, fmt.Sprintf("item %q holds another value", k))
		}
	}
	for _, k := range sortedKeys(ss.Spec.EncryptedData) {
		if _, ok := want[k]; !ok {
			problems = append(problems, fmt.Sprintf("item %q is not in the original", k))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", what, strings.Join(problems, "; "))
	}
	return nil
}

// MatchSecret checks that got, a Secret unsealed from a SealedSecret, has
// exactly want's items, byte for byte. The error names keys, never values.
func MatchSecret(got *corev1.Secret, want map[string][]byte) error {
	if got == nil {
		return errors.New("no Secret")
	}
	var problems []string
	for _, k := range sortedKeys(want) {
		v, ok := got.Data[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("item %q is missing", k))
		case len(v) != len(want[k]) || subtle.ConstantTimeCompare(v, want[k]) != 1:
			problems = append(problems, fmt.Sprintf("item %q holds another value", k))
		}
	}
	for _, k := range sortedKeys(got.Data) {
		if _, ok := want[k]; !ok {
			problems = append(problems, fmt.Sprintf("item %q is not in the original", k))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("Secret %s: %s", qualified(got.Namespace, got.Name), strings.Join(problems, "; "))
	}
	return nil
}
