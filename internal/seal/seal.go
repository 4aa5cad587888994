// Package seal implements the hybrid ciphertext format shared with Bitnami
// Sealed Secrets: one value is sealed for one RSA public key under one label.
//
// Bytes: uint16 big-endian len(W) || W || C, where W is a fresh 32-byte
// AES-256 key wrapped with RSA-OAEP (SHA-256 for hash and MGF1, OAEP label =
// scope label) and C is AES-256-GCM of the plaintext under that key with a
// zero nonce. The zero nonce is safe only because every key is used once.
// The text form is standard, padded base64.
//
// The package is pure crypto: it knows nothing about Kubernetes objects.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	sessionKeySize = 32 // AES-256
	gcmTagSize     = 16
)

var (
	// ErrTooShort means the bytes cannot hold the length prefix and the
	// wrapped key it announces.
	ErrTooShort = errors.New("ciphertext too short")
	// ErrNoKey means no given private key opened the value under the label
	// (wrong key, wrong scope/name/namespace, or tampered bytes).
	ErrNoKey = errors.New("no key could decrypt secret")
	// ErrNotSealedWith means a ciphertext was not sealed under the session
	// key given to OpenSealed (another sealing, or altered bytes).
	ErrNotSealedWith = errors.New("ciphertext was not sealed with this session key")
)

// Encrypter seals values for one public key, checked once. The RSA step is
// crypto/rsa's: a faster hand-written one is not worth carrying our own
// big-number code in a tool that guards secrets. It is safe for concurrent
// use.
type Encrypter struct {
	pub *rsa.PublicKey
}

// NewEncrypter prepares pub for sealing.
func NewEncrypter(pub *rsa.PublicKey) (*Encrypter, error) {
	if pub == nil || pub.N == nil {
		return nil, errors.New("seal: missing public key")
	}
	return &Encrypter{pub: pub}, nil
}

// Encrypt seals plaintext for pub under label. random supplies the session
// key; nil means crypto/rand.
func Encrypt(random io.Reader, pub *rsa.PublicKey, label, plaintext []byte) ([]byte, error) {
	e, err := NewEncrypter(pub)
	if err != nil {
		return nil, err
	}
	return e.Encrypt(random, label, plaintext)
}

// Encrypt seals plaintext under label. random supplies the session key
// and the OAEP seed, in that order; nil means crypto/rand.
func (e *Encrypter) Encrypt(random io.Reader, label, plaintext []byte) ([]byte, error) {
	out, key, err := e.EncryptKeyed(random, label, plaintext)
	clear(key)
	return out, err
}

// EncryptKeyed is Encrypt that also returns the session key the value was
// sealed under. The sealer may keep it (in memory, never written) to prove
// later, with OpenSealed, what a ciphertext holds without the private key.
func (e *Encrypter) EncryptKeyed(random io.Reader, label, plaintext []byte) ([]byte, []byte, error) {
	if random == nil {
		random = rand.Reader
	}
	key := make([]byte, sessionKeySize)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, nil, fmt.Errorf("seal: reading session key: %w", err)
	}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), random, e.pub, key, label)
	if err != nil {
		clear(key)
		return nil, nil, fmt.Errorf("seal: wrapping session key: %w", err)
	}
	gcm, err := newGCM(key)
	if err != nil {
		clear(key)
		return nil, nil, err
	}
	out := make([]byte, 2+len(wrapped), 2+len(wrapped)+len(plaintext)+gcmTagSize)
	binary.BigEndian.PutUint16(out, uint16(len(wrapped)))
	copy(out[2:], wrapped)
	var nonce [12]byte
	return gcm.Seal(out, nonce[:], plaintext, nil), key, nil
}

// OpenSealed opens the AES-GCM part of ciphertext with a session key kept
// from EncryptKeyed. It says what the ciphertext holds; it does not check
// that the RSA part wraps that key for anyone (ask the private key's holder
// for that). The error never contains plaintext or key material.
func OpenSealed(sessionKey, ciphertext []byte) ([]byte, error) {
	_, sealed, err := Split(ciphertext)
	if err != nil {
		return nil, err
	}
	if len(sessionKey) != sessionKeySize {
		return nil, errors.New("seal: session key has the wrong size")
	}
	if len(sealed) < gcmTagSize {
		return nil, ErrTooShort
	}
	gcm, err := newGCM(sessionKey)
	if err != nil {
		return nil, err
	}
	var nonce [12]byte
	plain, err := gcm.Open(nil, nonce[:], sealed, nil)
	if err != nil {
		return nil, ErrNotSealedWith
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}

// EncryptToString is Encrypt in the text form used in manifests and by
// `kubeseal --raw`.
func EncryptToString(random io.Reader, pub *rsa.PublicKey, label, plaintext []byte) (string, error) {
	b, err := Encrypt(random, pub, label, plaintext)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Split parses the framing: the RSA-wrapped session key and the GCM part.
// It does no cryptography, so it is safe to fuzz and to call on untrusted
// input.
func Split(ciphertext []byte) (wrapped, sealed []byte, err error) {
	if len(ciphertext) < 2 {
		return nil, nil, ErrTooShort
	}
	n := int(binary.BigEndian.Uint16(ciphertext))
	if 2+n > len(ciphertext) {
		return nil, nil, ErrTooShort
	}
	return ciphertext[2 : 2+n], ciphertext[2+n:], nil
}

// Decrypt opens ciphertext with the first of keys that works, as the
// controller does (the length prefix is not checked against the key size).
// The error never contains plaintext or key material.
func Decrypt(keys []*rsa.PrivateKey, label, ciphertext []byte) ([]byte, error) {
	plain, _, err := Open(keys, label, ciphertext)
	return plain, err
}

// Open is Decrypt that also says which of keys opened the value (its index),
// so a controller can record which keys are still in use.
func Open(keys []*rsa.PrivateKey, label, ciphertext []byte) ([]byte, int, error) {
	wrapped, sealed, err := Split(ciphertext)
	if err != nil {
		return nil, -1, err
	}
	if len(sealed) < gcmTagSize {
		return nil, -1, ErrTooShort
	}
	for i, k := range keys {
		if k == nil {
			continue
		}
		key, err := rsa.DecryptOAEP(sha256.New(), nil, k, wrapped, label)
		if err != nil || len(key) != sessionKeySize {
			continue
		}
		gcm, err := newGCM(key)
		if err != nil {
			continue
		}
		var nonce [12]byte
		plain, err := gcm.Open(nil, nonce[:], sealed, nil)
		if err != nil {
			continue
		}
		if plain == nil {
			plain = []byte{}
		}
		return plain, i, nil
	}
	return nil, -1, ErrNoKey
}

// DecryptString is Decrypt for the base64 text form.
func DecryptString(keys []*rsa.PrivateKey, label []byte, text string) ([]byte, error) {
	plain, _, err := OpenString(keys, label, text)
	return plain, err
}

// OpenString is Open for the base64 text form.
func OpenString(keys []*rsa.PrivateKey, label []byte, text string) ([]byte, int, error) {
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, -1, errors.New("ciphertext is not valid base64")
	}
	return Open(keys, label, b)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return gcm, nil
}
