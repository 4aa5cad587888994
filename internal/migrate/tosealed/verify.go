package tosealed

import (
	"context"
	"crypto/rsa"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controllerclient"
	"github.com/keyward/keyward/internal/sealing"
)

// Online asks the controller (its /v1/verify) whether its key opens a
// SealedSecret. The controller answers yes or no, never with a value.
type Online struct{ Client *controllerclient.Client }

// Verify posts the file's bytes as they are.
func (v Online) Verify(ctx context.Context, _ *ssv1.SealedSecret, manifest []byte, _ map[string][]byte) error {
	return v.Client.Verify(ctx, manifest)
}

// Online is true: the match with the original is proved locally.
func (Online) Online() bool { return true }

// Offline opens SealedSecrets with the controller's private keys (a PEM
// file or a `keyward keys backup`) and compares every item byte for byte.
type Offline struct{ Keys []*rsa.PrivateKey }

// Verify unseals ss and matches the result with want.
func (v Offline) Verify(_ context.Context, ss *ssv1.SealedSecret, _ []byte, want map[string][]byte) error {
	got, err := sealing.Unseal(ss, v.Keys)
	if err != nil {
		return err
	}
	defer func() {
		for _, b := range got.Data {
			clear(b)
		}
	}()
	return sealing.MatchSecret(got, want)
}

// Online is false.
func (Offline) Online() bool { return false }
