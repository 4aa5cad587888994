package sealing

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"testing"

	"github.com/keyward/keyward/test/testkeys"
)

// secretStream is n Secrets with two items each, as `kubectl create secret
// ... --dry-run=client -o yaml` prints them, joined into one YAML stream.
func secretStream(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app-%d\n  namespace: prod\ntype: Opaque\ndata:\n  username: YWRtaW4=\n  password: cG9zdGdyZXNxbDovL3VzZXI6cGFzc0Bob3N0L2Ri\n", i)
	}
	return b.Bytes()
}

// sealStream is the whole `keyward seal` path minus the process: read,
// decode, seal, encode.
func sealStream(b testing.TB, pub *rsa.PublicKey, in []byte) []byte {
	return sealStreamAs(b, pub, in, JSON)
}

func sealStreamAs(b testing.TB, pub *rsa.PublicKey, in []byte, format string) []byte {
	docs, err := ReadDocuments(bytes.NewReader(in))
	if err != nil {
		b.Fatal(err)
	}
	secrets, err := DecodeSecrets(docs)
	if err != nil {
		b.Fatal(err)
	}
	out, err := SealAll(secrets, pub, Options{})
	if err != nil {
		b.Fatal(err)
	}
	objs := make([]any, len(out))
	for i, o := range out {
		objs[i] = o
	}
	enc, err := Encode(format, objs...)
	if err != nil {
		b.Fatal(err)
	}
	return enc
}

func BenchmarkSealStream1000(b *testing.B) {
	k := testkeys.RSA(b, "4096")
	in := secretStream(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		sealStream(b, &k.PublicKey, in)
	}
}

// BenchmarkSealStream1000YAML is the stream written with -o yaml, as
// GitOps repositories keep it.
func BenchmarkSealStream1000YAML(b *testing.B) {
	k := testkeys.RSA(b, "4096")
	in := secretStream(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		sealStreamAs(b, &k.PublicKey, in, YAML)
	}
}

func BenchmarkSealOneSecret(b *testing.B) {
	k := testkeys.RSA(b, "4096")
	in := secretStream(1)
	b.ReportAllocs()
	for b.Loop() {
		sealStream(b, &k.PublicKey, in)
	}
}

func BenchmarkUnsealOneSecret(b *testing.B) {
	k := testkeys.RSA(b, "4096")
	docs, _ := ReadDocuments(bytes.NewReader(secretStream(1)))
	secrets, _ := DecodeSecrets(docs)
	ss, err := Seal(secrets[0], &k.PublicKey, Options{})
	if err != nil {
		b.Fatal(err)
	}
	keys := []*rsa.PrivateKey{k}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unseal(ss, keys); err != nil {
			b.Fatal(err)
		}
	}
}
