package sealedsecret

// What a Secret was made from: the digest of its SealedSecret and the keys
// that opened it, stamped on the Secret so a settled SealedSecret needs no
// decryption.

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

// sourceDigest identifies what a Secret is made from: the SealedSecret's
// UID, its scope label and its spec. Spec and label are public (ciphertext,
// names), so the digest reveals nothing secret.
func sourceDigest(ss *ssv1.SealedSecret) string {
	spec, err := json.Marshal(ss.Spec)
	if err != nil {
		return "" // never equal to a recorded digest: the Secret is rebuilt
	}
	h := sha256.New()
	label := sealing.Label(ss)
	fmt.Fprintf(h, "%s\x00%s\x00%q\x00", digestVersion, ss.UID, label)
	h.Write(spec)
	return hex.EncodeToString(h.Sum(nil))
}

// madeFrom says whether s was written from the SealedSecret with digest,
// with keys that are all still active; it returns those keys' fingerprints.
func madeFrom(s *corev1.Secret, digest string, active []keys.Key) ([]string, bool) {
	if digest == "" || s.Annotations[SourceDigestAnnotation] != digest {
		return nil, false
	}
	fps := splitFingerprints(s.Annotations[KeyFingerprintsAnnotation])
	if !allActive(fps, active) {
		return nil, false // a key was withdrawn: check the values still open
	}
	return fps, true
}

// allActive says whether every fingerprint names an active key.
func allActive(fps []string, active []keys.Key) bool {
	for _, fp := range fps {
		if !slices.ContainsFunc(active, func(k keys.Key) bool { return k.Fingerprint == fp }) {
			return false
		}
	}
	return true
}

func splitFingerprints(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// hints are the keys that opened this SealedSecret before; they are tried
// first, since an RSA-4096 attempt with a wrong key costs as much as one
// with the right one.
func hints(ss *ssv1.SealedSecret, s *corev1.Secret) []string {
	var out []string
	if ss.Status != nil {
		out = append(out, ss.Status.KeyFingerprints...)
	}
	if s != nil {
		out = append(out, splitFingerprints(s.Annotations[KeyFingerprintsAnnotation])...)
	}
	return out
}

// orderKeys puts the hinted keys first, each group newest first, and
// returns the private keys with their fingerprints.
func orderKeys(active []keys.Key, hint []string) ([]*rsa.PrivateKey, []string) {
	ordered := slices.Clone(active)
	slices.SortStableFunc(ordered, func(a, b keys.Key) int {
		ha, hb := slices.Contains(hint, a.Fingerprint), slices.Contains(hint, b.Fingerprint)
		switch {
		case ha && !hb:
			return -1
		case hb && !ha:
			return 1
		}
		return 0
	})
	privs := make([]*rsa.PrivateKey, len(ordered))
	fps := make([]string, len(ordered))
	for i, k := range ordered {
		privs[i], fps[i] = k.Private, k.Fingerprint
	}
	return privs, fps
}

// stamp marks the Secret as ours and records what it was made from.
func stamp(s *corev1.Secret, digest string, fps []string) {
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[UnsealedLabel] = "true"
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[SourceDigestAnnotation] = digest
	s.Annotations[KeyFingerprintsAnnotation] = strings.Join(fps, ",")
}
