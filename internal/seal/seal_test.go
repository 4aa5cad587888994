package seal

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	tests := []struct {
		scope     Scope
		ns, name  string
		want      string
		wantScope string
	}{
		{Strict, "prod", "db", "prod/db", "strict"},
		{NamespaceWide, "prod", "db", "prod", "namespace-wide"},
		{ClusterWide, "prod", "db", "", "cluster-wide"},
		{Strict, "", "db", "/db", "strict"},
	}
	for _, tt := range tests {
		if got := string(Label(tt.scope, tt.ns, tt.name)); got != tt.want {
			t.Errorf("Label(%v, %q, %q) = %q, want %q", tt.scope, tt.ns, tt.name, got, tt.want)
		}
		if tt.scope.String() != tt.wantScope {
			t.Errorf("String() = %q", tt.scope.String())
		}
		if s, err := ParseScope(tt.wantScope); err != nil || s != tt.scope {
			t.Errorf("ParseScope(%q) = %v, %v", tt.wantScope, s, err)
		}
	}
	if _, err := ParseScope("global"); err == nil || !strings.Contains(err.Error(), "strict, namespace-wide, cluster-wide") {
		t.Errorf("ParseScope(global) error = %v", err)
	}
}

func TestDecryptErrors(t *testing.T) {
	k := loadTestKey(t, keyFile(2048))
	other := loadTestKey(t, keyFile(3072))
	secret := []byte("s3cr3t-planted-value")
	good, err := Encrypt(nil, &k.PublicKey, []byte("ns/a"), secret)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte{}, good...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name string
		keys []*rsa.PrivateKey
		ct   []byte
		want error
	}{
		{"empty", []*rsa.PrivateKey{k}, nil, ErrTooShort},
		{"one byte", []*rsa.PrivateKey{k}, []byte{1}, ErrTooShort},
		{"prefix beyond end", []*rsa.PrivateKey{k}, []byte{0xff, 0xff, 1, 2}, ErrTooShort},
		{"no tag", []*rsa.PrivateKey{k}, good[:2+256+4], ErrTooShort},
		{"wrong key", []*rsa.PrivateKey{other}, good, ErrNoKey},
		{"no keys", nil, good, ErrNoKey},
		{"tampered tag", []*rsa.PrivateKey{k}, flipped, ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decrypt(tt.keys, []byte("ns/a"), tt.ct)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Fatal("error leaks the plaintext")
			}
		})
	}
	// Any key in the list may open it: the controller tries them all.
	got, err := Decrypt([]*rsa.PrivateKey{other, nil, k}, []byte("ns/a"), good)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("second key: %v", err)
	}
	// Open names the key that worked, so callers can tell which keys are in use.
	if _, idx, err := Open([]*rsa.PrivateKey{other, nil, k}, []byte("ns/a"), good); err != nil || idx != 2 {
		t.Fatalf("Open index = %d, %v; want 2", idx, err)
	}
	if _, idx, err := Open([]*rsa.PrivateKey{other}, []byte("ns/a"), good); err == nil || idx != -1 {
		t.Fatalf("Open with no matching key = %d, %v; want -1 and an error", idx, err)
	}
	if _, err := DecryptString([]*rsa.PrivateKey{k}, []byte("ns/a"), "not base64!"); err == nil {
		t.Fatal("bad base64 accepted")
	}
}

func TestEncryptShape(t *testing.T) {
	for _, bits := range keySizes {
		k := loadTestKey(t, keyFile(bits))
		s, err := EncryptToString(nil, &k.PublicKey, nil, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		wantPrefix := map[int]string{2048: "AQ", 3072: "AY", 4096: "Ag"}[bits]
		if !strings.HasPrefix(s, wantPrefix) || strings.ContainsAny(s, "\n-_") {
			t.Errorf("%d: text form %q... is not standard base64 starting %s", bits, s[:8], wantPrefix)
		}
		b, _ := base64.StdEncoding.DecodeString(s)
		if len(b) != 2+bits/8+1+16 {
			t.Errorf("%d: length %d", bits, len(b))
		}
	}
	if _, err := Encrypt(nil, nil, nil, nil); err == nil {
		t.Fatal("nil key accepted")
	}
	k := loadTestKey(t, keyFile(2048))
	if _, err := Encrypt(bytes.NewReader(nil), &k.PublicKey, nil, nil); err == nil {
		t.Fatal("failing random source not reported")
	}
}

// FuzzDecode feeds arbitrary text to the decoder path a controller runs on
// untrusted manifests: base64, framing, then key trial. It must never panic,
// and anything it opens must re-seal consistently.
func FuzzDecode(f *testing.F) {
	k := loadTestKey(f, keyFile(2048))
	keys := []*rsa.PrivateKey{k}
	good, err := EncryptToString(nil, &k.PublicKey, []byte("ns/n"), []byte("value"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "ns/n")
	f.Add(good, "ns")
	f.Add("", "")
	f.Add("AA==", "")
	f.Add("AQA=", "x")
	f.Add("//8=", "")
	f.Add(good[:len(good)-8], "ns/n")
	f.Fuzz(func(t *testing.T, text, label string) {
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return
		}
		if w, s, err := Split(b); err == nil && len(w)+len(s)+2 != len(b) {
			t.Fatalf("Split lost bytes: %d+%d+2 != %d", len(w), len(s), len(b))
		}
		plain, err := Decrypt(keys, []byte(label), b)
		if err != nil {
			if !errors.Is(err, ErrTooShort) && !errors.Is(err, ErrNoKey) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if len(b) != 2+k.Size()+len(plain)+16 {
			t.Fatalf("opened a value of inconsistent length")
		}
	})
}

// TestEncrypterOpens seals many values through one Encrypter and opens
// each with the private key, for each test key size.
func TestEncrypterOpens(t *testing.T) {
	for _, bits := range keySizes {
		k := loadTestKey(t, keyFile(bits))
		e, err := NewEncrypter(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
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
	if _, err := NewEncrypter(nil); err == nil {
		t.Error("NewEncrypter(nil) accepted a missing key")
	}
}

// A sealer that kept the session key opens its own ciphertext, and only
// that one, without the private key; the private key opens it too.
func TestEncryptKeyedOpenSealed(t *testing.T) {
	k := loadTestKey(t, keyFile(2048))
	e, err := NewEncrypter(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("planted-receipt-value")
	ct, key, err := e.EncryptKeyed(nil, []byte("ns/a"), secret)
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey, err := e.EncryptKeyed(nil, []byte("ns/a"), secret)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte{}, ct...)
	flipped[len(flipped)-1] ^= 1
	if plain, err := Decrypt([]*rsa.PrivateKey{k}, []byte("ns/a"), ct); err != nil || !bytes.Equal(plain, secret) {
		t.Fatalf("private key does not open it: %v", err)
	}
	tests := []struct {
		name string
		key  []byte
		ct   []byte
		want error
	}{
		{"own ciphertext", key, ct, nil},
		{"another sealing of the same value", key, other, ErrNotSealedWith},
		{"its own key for the other", otherKey, other, nil},
		{"altered bytes", key, flipped, ErrNotSealedWith},
		{"truncated", key, ct[:3], ErrTooShort},
		{"short key", key[:16], ct, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := OpenSealed(tt.key, tt.ct)
			if tt.name == "short key" {
				if err == nil {
					t.Fatal("a 16-byte key was accepted")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && !bytes.Equal(plain, secret) {
				t.Fatal("opened to other bytes")
			}
			if err != nil && strings.Contains(err.Error(), string(secret)) {
				t.Fatal("error leaks the plaintext")
			}
		})
	}
}
