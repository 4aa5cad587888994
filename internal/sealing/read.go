package sealing

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// The input held no object of the kind asked for.
var (
	ErrNoSecret       = errors.New("no Secret in the input")
	ErrNoSealedSecret = errors.New("no SealedSecret in the input")
)

// ReadSecrets reads a stream of Secrets (YAML or concatenated JSON). Any
// other kind is an error, and so is a stream without one (ErrNoSecret).
func ReadSecrets(r io.Reader) ([]*corev1.Secret, error) {
	return readAll(r, DecodeSecrets, ErrNoSecret)
}

// ReadSealedSecrets reads a stream of SealedSecrets. Any other kind is an
// error, and so is a stream without one (ErrNoSealedSecret).
func ReadSealedSecrets(r io.Reader) ([]*ssv1.SealedSecret, error) {
	return readAll(r, DecodeSealedSecrets, ErrNoSealedSecret)
}

// readAll reads every document of r with decode; none is the error for a
// stream without one.
func readAll[T any](r io.Reader, decode func([]Document) ([]T, error), none error) ([]T, error) {
	docs, err := ReadDocuments(r)
	if err != nil {
		return nil, err
	}
	out, err := decode(docs)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, none
	}
	return out, nil
}

// ReadSealedSecretDocuments reads a stream of SealedSecrets without
// decoding them, for passing on as they were written (to a controller).
// Any other kind is an error, and so is a stream without one.
func ReadSealedSecretDocuments(r io.Reader) ([]Document, error) {
	docs, err := ReadDocuments(r)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, ErrNoSealedSecret
	}
	for _, d := range docs {
		if d.Kind != ssv1.Kind {
			return nil, fmt.Errorf("%s: expected a %s", d, ssv1.Kind)
		}
	}
	return docs, nil
}

// ParseSealedSecret reads a file that holds exactly one SealedSecret, such
// as the one --merge-into rewrites.
func ParseSealedSecret(b []byte) (*ssv1.SealedSecret, error) {
	docs, err := ReadDocuments(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("expected one SealedSecret, found %d documents", len(docs))
	}
	return DecodeSealedSecret(docs[0])
}
