package sealing

import (
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/test/testkeys"
)

func TestVerify(t *testing.T) {
	k, other := testkeys.RSA(t, "2048"), testkeys.RSA(t, "3072")
	sealed := func(t *testing.T) *ssv1.SealedSecret {
		t.Helper()
		ss, err := Seal(inputSecret(), &k.PublicKey, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	blob, err := seal.Encrypt(nil, &k.PublicKey, []byte("ns/old"), []byte(`{"data":{"k":"dg=="}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		ss        func(t *testing.T) *ssv1.SealedSecret
		keys      []*rsa.PrivateKey
		wantItems []string // nil: opens
		wantErr   string
	}{
		{"opens", sealed, []*rsa.PrivateKey{other, k}, nil, ""},
		{"wrong key", sealed, []*rsa.PrivateKey{other}, []string{"both", "password", "user"}, "no key could decrypt"},
		{"moved to another name", func(t *testing.T) *ssv1.SealedSecret {
			ss := sealed(t)
			ss.Name = "elsewhere"
			return ss
		}, []*rsa.PrivateKey{k}, []string{"both", "password", "user"}, "no key could decrypt"},
		// A template that would print a value is never run: the items open,
		// so Verify says yes and has nothing to print.
		{"leaking template not rendered", func(t *testing.T) *ssv1.SealedSecret {
			ss := sealed(t)
			ss.Spec.Template.Data = map[string]string{"x": "{{ fail .password }}", "broken": "{{ .password "}
			return ss
		}, []*rsa.PrivateKey{k}, nil, ""},
		{"one garbled item", func(t *testing.T) *ssv1.SealedSecret {
			ss := sealed(t)
			ss.Spec.EncryptedData["garbled"] = "!!!"
			return ss
		}, []*rsa.PrivateKey{k}, []string{"garbled"}, "not valid base64"},
		{"legacy data opens", func(t *testing.T) *ssv1.SealedSecret {
			return &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns"}, Spec: ssv1.SealedSecretSpec{Data: blob}}
		}, []*rsa.PrivateKey{k}, nil, ""},
		{"legacy data wrong key", func(t *testing.T) *ssv1.SealedSecret {
			return &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns"}, Spec: ssv1.SealedSecretSpec{Data: blob}}
		}, []*rsa.PrivateKey{other}, []string{"spec.data"}, "no key could decrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.ss(t), tt.keys)
			if tt.wantItems == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ue *UnsealError
			if !errors.As(err, &ue) {
				t.Fatalf("want *UnsealError, got %v", err)
			}
			var got []string
			for _, it := range ue.Items {
				got = append(got, it.Item)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantItems, ",") {
				t.Fatalf("failed items %v, want %v", got, tt.wantItems)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not say %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error carries a value: %v", err)
			}
		})
	}
}

func TestVerifyRefusesBothDataFields(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	ss := &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns"},
		Spec: ssv1.SealedSecretSpec{Data: []byte{1}, EncryptedData: ssv1.SealedSecretEncryptedData{"x": "y"}}}
	if err := Verify(ss, []*rsa.PrivateKey{k}); err == nil || !strings.Contains(err.Error(), "together") {
		t.Fatalf("both fields: %v", err)
	}
}
