// Package testkeys reads the fixed RSA keys that package seal's test
// vectors pin, for tests that need a real key without waiting for one to
// be generated (an RSA-4096 key takes seconds).
package testkeys

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RSA returns the pinned key of the given size ("2048", "3072", "4096").
func RSA(t testing.TB, bits string) *rsa.PrivateKey {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkeys: cannot locate its own source")
	}
	path := filepath.Join(filepath.Dir(here), "..", "..", "internal", "seal", "testdata", "rsa"+bits+".pem")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}
