package seal

import (
	"crypto/rsa"
	"testing"
)

func BenchmarkSeal(b *testing.B) {
	k := loadTestKey(b, keyFile(4096))
	label, value := []byte("prod/db"), []byte("postgresql://user:pass@host/db")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(nil, &k.PublicKey, label, value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnseal(b *testing.B) {
	k := loadTestKey(b, keyFile(4096))
	label := []byte("prod/db")
	ct, err := Encrypt(nil, &k.PublicKey, label, []byte("postgresql://user:pass@host/db"))
	if err != nil {
		b.Fatal(err)
	}
	keys := []*rsa.PrivateKey{k}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decrypt(keys, label, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypter is sealing one more value with a prepared key, the
// per-item cost of a stream.
func BenchmarkEncrypter(b *testing.B) {
	k := loadTestKey(b, keyFile(4096))
	e, err := NewEncrypter(&k.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	label, value := []byte("prod/db"), []byte("postgresql://user:pass@host/db")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encrypt(nil, label, value); err != nil {
			b.Fatal(err)
		}
	}
}
