package sealing

import (
	"crypto/rsa"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/testkeys"
)

// A template.data entry must not carry a decrypted value out through its
// error, in any encoding: the error reaches status, Events and logs.
func TestUnsealTemplateErrorsCarryNoValue(t *testing.T) {
	const canary = "Cn4ry-s3cret/v4lue+42"
	k := testkeys.RSA(t, "2048")
	tests := []struct{ name, tmpl, want string }{
		{"fail b64enc", `{{ fail (b64enc .password) }}`, `item "out": template "spec.template.data[out]": 1:3: fail was called`},
		{"fail printf hex", `{{ printf "%x" .password | fail }}`, `item "out": template "spec.template.data[out]": 1:`},
		{"fail upper", `{{ .password | upper | fail }}`, `: fail was called`},
		{"index out of range", `{{ index .password 999 }}`, `1:3: calling index failed`},
		{"fromJson", `{{ .password | fromJson }}`, `calling fromJson failed`},
		{"regex of the value", `{{ regexMatch (cat "(" .password) "" }}`, `calling regexMatch failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"},
				Data:       map[string][]byte{"password": []byte(canary)},
			}
			ss, err := Seal(in, &k.PublicKey, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ss.Spec.Template.Data = map[string]string{"out": tt.tmpl}
			_, err = Unseal(ss, []*rsa.PrivateKey{k})
			if err == nil {
				t.Fatal("no error")
			}
			leak.CheckError(t, err.Error(), canary)
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "SealedSecret prod/db: ") {
				t.Errorf("error = %v, want it to name the object and hold %q", err, tt.want)
			}
		})
	}
}
