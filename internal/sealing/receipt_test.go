package sealing

import (
	"crypto/rsa"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/test/testkeys"
)

func TestReceiptMatch(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	const planted = "planted-receipt-pw"
	in := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"},
		Data:       map[string][]byte{"user": []byte("admin"), "password": []byte(planted)},
	}
	sealed, receipts, err := SealAllKeyed([]*corev1.Secret{in}, &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss, rc := sealed[0], receipts[0]
	other, err := Seal(in, &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Items(in)
	tests := []struct {
		name   string
		mutate func(ss *ssv1.SealedSecret, want map[string][]byte)
		errHas string
	}{
		{"as sealed", func(*ssv1.SealedSecret, map[string][]byte) {}, ""},
		{"value changed in the original", func(_ *ssv1.SealedSecret, w map[string][]byte) { w["password"] = []byte(planted + "x") }, `item "password" holds another value`},
		{"item swapped for another sealing", func(s *ssv1.SealedSecret, _ map[string][]byte) {
			s.Spec.EncryptedData["password"] = other.Spec.EncryptedData["password"]
		}, `item "password": ciphertext was not sealed`},
		{"item dropped", func(s *ssv1.SealedSecret, _ map[string][]byte) { delete(s.Spec.EncryptedData, "user") }, `item "user" is missing`},
		{"item added", func(s *ssv1.SealedSecret, _ map[string][]byte) {
			s.Spec.EncryptedData["extra"] = s.Spec.EncryptedData["user"]
		}, `item "extra" is not in the original`},
		{"renamed", func(s *ssv1.SealedSecret, _ map[string][]byte) { s.Name = "db2" }, "sealed as prod/db"},
		{"not base64", func(s *ssv1.SealedSecret, _ map[string][]byte) { s.Spec.EncryptedData["user"] = "%%%" }, "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ss.DeepCopy()
			w := map[string][]byte{}
			for k, v := range want {
				w[k] = append([]byte{}, v...)
			}
			tt.mutate(s, w)
			err := rc.Match(s, w)
			if tt.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want %q", err, tt.errHas)
			}
			if strings.Contains(err.Error(), planted) {
				t.Fatal("error leaks the value")
			}
		})
	}
	// The controller's key opens what the receipt vouches for.
	got, err := Unseal(ss, []*rsa.PrivateKey{k})
	if err != nil {
		t.Fatal(err)
	}
	if err := MatchSecret(got, want); err != nil {
		t.Fatal(err)
	}
	got.Data["password"] = []byte("other")
	if err := MatchSecret(got, want); err == nil || strings.Contains(err.Error(), planted) {
		t.Fatalf("MatchSecret: %v", err)
	}
	rc.Wipe()
	if err := rc.Match(ss, want); err == nil {
		t.Fatal("a wiped receipt still matches")
	}
}
