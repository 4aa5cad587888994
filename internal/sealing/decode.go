package sealing

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// DecodeSecret reads a Secret document. Other kinds are refused so that a
// stray ConfigMap in a stream is not silently sealed as an empty Secret.
func DecodeSecret(d Document) (*corev1.Secret, error) {
	if d.Kind != "Secret" || (d.APIVersion != "v1" && d.APIVersion != "") {
		return nil, fmt.Errorf("%s: expected a v1 Secret, found %s", d, kindOf(d))
	}
	var s corev1.Secret
	if err := json.Unmarshal(d.JSON, &s); err != nil {
		return nil, fmt.Errorf("%s: %s", d, describeJSONError(err))
	}
	return &s, nil
}

// DecodeSealedSecret reads a bitnami.com/v1alpha1 SealedSecret document.
func DecodeSealedSecret(d Document) (*ssv1.SealedSecret, error) {
	if d.Kind != ssv1.Kind || d.APIVersion != ssv1.APIVersion {
		return nil, fmt.Errorf("%s: expected a %s SealedSecret, found %s", d, ssv1.APIVersion, kindOf(d))
	}
	var ss ssv1.SealedSecret
	if err := json.Unmarshal(d.JSON, &ss); err != nil {
		return nil, fmt.Errorf("%s: %s", d, describeJSONError(err))
	}
	return &ss, nil
}

// DecodeSecrets decodes every document, failing on the first that is not a
// Secret.
func DecodeSecrets(docs []Document) ([]*corev1.Secret, error) {
	return decodeAll(docs, DecodeSecret)
}

// DecodeSealedSecrets decodes every document, failing on the first that is
// not a SealedSecret.
func DecodeSealedSecrets(docs []Document) ([]*ssv1.SealedSecret, error) {
	return decodeAll(docs, DecodeSealedSecret)
}

// decodeAll decodes the documents in parallel; the first failure in
// stream order is the one reported.
func decodeAll[T any](docs []Document, decode func(Document) (*T, error)) ([]*T, error) {
	out := make([]*T, len(docs))
	errs := make([]error, len(docs))
	parallel(len(docs), func(i int) {
		out[i], errs[i] = decode(docs[i])
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func kindOf(d Document) string {
	switch {
	case d.Kind == "":
		return "an object without kind"
	case d.APIVersion == "":
		return d.Kind
	}
	return d.APIVersion + " " + d.Kind
}
