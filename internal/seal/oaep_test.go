package seal

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// seededReader is a deterministic stream, so that two implementations fed
// the same one must produce the same bytes.
type seededReader struct{ r *rand.ChaCha8 }

func newSeeded(seed byte) *seededReader {
	var s [32]byte
	s[0] = seed
	return &seededReader{rand.NewChaCha8(s)}
}

func (s *seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// randomOddModulus is an odd number of exactly bits bits: not an RSA
// modulus, but the public operation and padding do not care.
func randomOddModulus(r *rand.Rand, bits int) *big.Int {
	b := make([]byte, (bits+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	n := new(big.Int).SetBytes(b)
	n.SetBit(n, bits-1, 1)
	for i := bits; i < len(b)*8; i++ {
		n.SetBit(n, i, 0)
	}
	return n.SetBit(n, 0, 1)
}

// TestOAEPMatchesCryptoRSA checks the prepared-key path against
// crypto/rsa byte for byte, over modulus sizes that do and do not fill
// their last limb, several exponents, and every message length class.
func TestOAEPMatchesCryptoRSA(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pubs []*rsa.PublicKey
	for _, bits := range keySizes {
		pubs = append(pubs, &loadTestKey(t, keyFile(bits)).PublicKey)
	}
	for _, bits := range []int{1024, 1025, 1999, 2048, 3071, 4096, 4100} {
		for _, e := range []int{3, 17, 65537, 1<<31 - 1} {
			pubs = append(pubs, &rsa.PublicKey{N: randomOddModulus(r, bits), E: e})
		}
	}
	for _, pub := range pubs {
		k := newOAEPKey(pub)
		if k == nil {
			t.Fatalf("%d-bit modulus, e=%d: not prepared", pub.N.BitLen(), pub.E)
		}
		maxLen := pub.Size() - 2*sha256.Size - 2
		for _, n := range []int{0, 1, 32, maxLen - 1, maxLen} {
			t.Run(fmt.Sprintf("%d-bit/e=%d/len=%d", pub.N.BitLen(), pub.E, n), func(t *testing.T) {
				msg := make([]byte, n)
				for i := range msg {
					msg[i] = byte(r.Uint32())
				}
				label := []byte(fmt.Sprintf("ns/name-%d", n))
				want, err := rsa.EncryptOAEP(sha256.New(), newSeeded(byte(n)), pub, msg, label)
				if err != nil {
					t.Fatal(err)
				}
				got, err := k.encrypt(newSeeded(byte(n)), msg, label)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatal("ciphertext differs from crypto/rsa's")
				}
			})
		}
		if _, err := k.encrypt(newSeeded(0), make([]byte, maxLen+1), nil); !errors.Is(err, rsa.ErrMessageTooLong) {
			t.Errorf("%d-bit: message one byte too long: err = %v", pub.N.BitLen(), err)
		}
	}
}

// TestEncrypterOpens seals through the public API and opens with the
// private key, for each test key size.
func TestEncrypterOpens(t *testing.T) {
	for _, bits := range keySizes {
		k := loadTestKey(t, keyFile(bits))
		e, err := NewEncrypter(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if e.key == nil {
			t.Fatalf("%d-bit key not prepared", bits)
		}
		for _, p := range plaintexts() {
			ct, err := e.Encrypt(nil, []byte("prod/db"), p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decrypt([]*rsa.PrivateKey{k}, []byte("prod/db"), ct)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("%d-bit: Decrypt: %v", bits, err)
			}
		}
	}
}

// TestEncrypterLeavesOddKeysToCryptoRSA: keys the prepared path does not
// take are sealed, or refused, exactly as crypto/rsa does.
func TestEncrypterLeavesOddKeysToCryptoRSA(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	even := randomOddModulus(r, 2048)
	even.SetBit(even, 0, 0)
	for _, tc := range []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"even exponent", &rsa.PublicKey{N: randomOddModulus(r, 2048), E: 65536}},
		{"exponent 1", &rsa.PublicKey{N: randomOddModulus(r, 2048), E: 1}},
		{"exponent too large", &rsa.PublicKey{N: randomOddModulus(r, 2048), E: 1 << 31}},
		{"even modulus", &rsa.PublicKey{N: even, E: 65537}},
		{"small modulus", &rsa.PublicKey{N: randomOddModulus(r, 768), E: 65537}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEncrypter(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			if e.key != nil {
				t.Fatal("prepared, want crypto/rsa")
			}
			_, wantErr := rsa.EncryptOAEP(sha256.New(), newSeeded(1), tc.pub, []byte("k"), nil)
			if wantErr == nil {
				t.Fatal("crypto/rsa accepted the key; the case tests nothing")
			}
			if _, err := e.Encrypt(newSeeded(1), nil, []byte("v")); err == nil || !strings.Contains(err.Error(), wantErr.Error()) {
				t.Fatalf("err = %v, want crypto/rsa's refusal (%v)", err, wantErr)
			}
		})
	}
}
