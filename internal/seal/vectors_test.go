package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors.json and the test keys")

// vector is one sealed value in testdata/vectors.json. Source "seal" was made
// by Encrypt (random, so only opened); source "plain" by plainSeal with the
// recorded session key and OAEP seed (so it is also rebuilt byte for byte).
type vector struct {
	Key        string `json:"key"`
	Source     string `json:"source"`
	Scope      string `json:"scope"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Label      string `json:"label"`
	Plaintext  string `json:"plaintext"` // base64
	SessionKey string `json:"sessionKey,omitempty"`
	OAEPSeed   string `json:"oaepSeed,omitempty"`
	Ciphertext string `json:"ciphertext"` // the text form, as in encryptedData
}

var keySizes = []int{2048, 3072, 4096}

func keyFile(bits int) string { return fmt.Sprintf("rsa%d.pem", bits) }

func loadTestKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

func plaintexts() [][]byte {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	return [][]byte{[]byte("hunter2"), {}, binary, bytes.Repeat([]byte("0123456789abcdef"), 41)[3:]}
}

func generateVectors(t *testing.T) {
	var vs []vector
	for i, bits := range keySizes {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		if err := os.WriteFile(filepath.Join("testdata", keyFile(bits)), pemBytes, 0o644); err != nil {
			t.Fatal(err)
		}
		for j, scope := range Scopes {
			for n, p := range plaintexts() {
				label := Label(scope, "prod", "db")
				ct, err := Encrypt(nil, &k.PublicKey, label, p)
				if err != nil {
					t.Fatal(err)
				}
				v := vector{Key: keyFile(bits), Source: "seal", Scope: scope.String(), Namespace: "prod", Name: "db",
					Label: string(label), Plaintext: base64.StdEncoding.EncodeToString(p),
					Ciphertext: base64.StdEncoding.EncodeToString(ct)}
				vs = append(vs, v)
				// A deterministic twin built by the plain implementation.
				sk := bytes.Repeat([]byte{byte(0x10*i + 4*j + n + 1)}, 32)
				seed := bytes.Repeat([]byte{byte(0x80 + 0x10*i + 4*j + n)}, 32)
				v.Source = "plain"
				v.SessionKey = base64.StdEncoding.EncodeToString(sk)
				v.OAEPSeed = base64.StdEncoding.EncodeToString(seed)
				v.Ciphertext = base64.StdEncoding.EncodeToString(plainSeal(&k.PublicKey, label, p, sk, seed))
				vs = append(vs, v)
			}
		}
	}
	b, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "vectors.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVectors(t *testing.T) {
	if *update {
		generateVectors(t)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	keys := map[string]*rsa.PrivateKey{}
	for _, bits := range keySizes {
		keys[keyFile(bits)] = loadTestKey(t, keyFile(bits))
	}
	for i, v := range vs {
		t.Run(fmt.Sprintf("%d-%s-%s-%s", i, v.Key, v.Source, v.Scope), func(t *testing.T) {
			k := keys[v.Key]
			scope, err := ParseScope(v.Scope)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(Label(scope, v.Namespace, v.Name)); got != v.Label {
				t.Fatalf("label = %q, vector says %q", got, v.Label)
			}
			want, _ := base64.StdEncoding.DecodeString(v.Plaintext)
			ct, err := base64.StdEncoding.DecodeString(v.Ciphertext)
			if err != nil {
				t.Fatal(err)
			}
			if wantLen := 2 + k.Size() + len(want) + 16; len(ct) != wantLen {
				t.Fatalf("decoded length %d, want 2+%d+%d+16", len(ct), k.Size(), len(want))
			}
			if int(ct[0])<<8|int(ct[1]) != k.Size() {
				t.Fatalf("length prefix %x %x does not announce %d bytes", ct[0], ct[1], k.Size())
			}
			// The plain implementation opens every vector.
			got, err := plainOpen(k, []byte(v.Label), ct)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("plain open: %v (plaintext match %v)", err, bytes.Equal(got, want))
			}
			// So does ours, from the text form.
			got, err = DecryptString([]*rsa.PrivateKey{k}, []byte(v.Label), v.Ciphertext)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Decrypt: %v", err)
			}
			// Any other label fails: that is the whole scoping mechanism.
			for _, other := range [][]byte{[]byte("prod/other"), []byte("prod"), {}, []byte("other/db")} {
				if string(other) == v.Label {
					continue
				}
				if _, err := Decrypt([]*rsa.PrivateKey{k}, other, ct); err != ErrNoKey {
					t.Errorf("label %q: err = %v, want ErrNoKey", other, err)
				}
			}
			if v.Source == "plain" {
				sk, _ := base64.StdEncoding.DecodeString(v.SessionKey)
				seed, _ := base64.StdEncoding.DecodeString(v.OAEPSeed)
				if again := plainSeal(&k.PublicKey, []byte(v.Label), want, sk, seed); !bytes.Equal(again, ct) {
					t.Fatal("plain implementation no longer rebuilds the vector byte for byte")
				}
			}
		})
	}
}

// TestRoundTripFreshKeys seals with Encrypt and opens with the plain
// implementation (and back) for every key size and scope, on keys not in
// testdata, so the vectors cannot hide a key-specific accident.
func TestRoundTripFreshKeys(t *testing.T) {
	for _, bits := range keySizes {
		k := loadTestKey(t, keyFile(bits))
		for _, scope := range Scopes {
			label := Label(scope, "ns", "name")
			for _, p := range plaintexts() {
				ct, err := Encrypt(nil, &k.PublicKey, label, p)
				if err != nil {
					t.Fatal(err)
				}
				got, err := plainOpen(k, label, ct)
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("%d %s: plain open: %v", bits, scope, err)
				}
				ct2 := plainSeal(&k.PublicKey, label, p, bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32))
				got, err = Decrypt([]*rsa.PrivateKey{k}, label, ct2)
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("%d %s: Decrypt of plain seal: %v", bits, scope, err)
				}
			}
		}
	}
}
