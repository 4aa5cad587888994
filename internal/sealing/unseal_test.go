package sealing

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/test/testkeys"
)

func TestUnsealBuildsControllerSecret(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	ss, err := Seal(inputSecret(), &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss.UID = "ss-uid"
	ss.Spec.Template.Data = map[string]string{
		"dsn":  "postgres://{{ .user }}:{{ .password }}@db/app",
		"user": "{{ .user | upper }}", // a rendered key overrides an item
	}
	sec, err := Unseal(ss, []*rsa.PrivateKey{k})
	if err != nil {
		t.Fatal(err)
	}
	if sec.APIVersion != "v1" || sec.Kind != "Secret" || sec.Name != "db" || sec.Namespace != "prod" {
		t.Fatalf("identity %v %v", sec.TypeMeta, sec.ObjectMeta)
	}
	if got := string(sec.Data["dsn"]); got != "postgres://admin:hunter2@db/app" {
		t.Fatalf("dsn = %q", got)
	}
	if string(sec.Data["user"]) != "ADMIN" || sec.Type != corev1.SecretTypeOpaque || sec.Immutable == nil || !*sec.Immutable {
		t.Fatalf("secret %+v", sec)
	}
	if sec.Labels["app"] != "api" || sec.Annotations["team"] != "payments" {
		t.Fatalf("template metadata not copied: %v", sec.ObjectMeta)
	}
	if len(sec.OwnerReferences) != 1 {
		t.Fatalf("owner references %v", sec.OwnerReferences)
	}
	or := sec.OwnerReferences[0]
	if or.APIVersion != "bitnami.com/v1alpha1" || or.Kind != "SealedSecret" || or.Name != "db" || or.UID != "ss-uid" || or.Controller == nil || !*or.Controller || or.BlockOwnerDeletion != nil {
		t.Fatalf("owner reference %+v", or)
	}
	ss.Spec.Template.Annotations[ssv1.SkipSetOwnerReferencesAnnotation] = "true"
	sec, err = Unseal(ss, []*rsa.PrivateKey{k})
	if err != nil || sec.OwnerReferences != nil {
		t.Fatalf("skip-set-owner-references ignored: %v %v", sec.OwnerReferences, err)
	}
}

// Failing items are all reported, each by name, with no plaintext.
func TestUnsealErrorsNameEveryItem(t *testing.T) {
	k, other := testkeys.RSA(t, "2048"), testkeys.RSA(t, "3072")
	ss, err := Seal(inputSecret(), &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := seal.EncryptToString(nil, &other.PublicKey, []byte("prod/db"), []byte("Pl4nted"))
	ss.Spec.EncryptedData["foreign"] = foreign
	ss.Spec.EncryptedData["garbled"] = "!!!"
	ss.Spec.EncryptedData["short"] = "AQ=="
	ss.Spec.Template.Data = map[string]string{"bad": "{{ .password | b64dec }}", "broken": "{{ .password ", "loud": "{{ fail .password }}"}
	_, err = Unseal(ss, []*rsa.PrivateKey{k})
	if err == nil {
		t.Fatal("no error")
	}
	want := `SealedSecret prod/db: item "foreign": no key could decrypt secret; item "garbled": ciphertext is not valid base64; item "short": ciphertext too short; item "bad": `
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `item "broken": `) || !strings.Contains(err.Error(), `item "loud": template "spec.template.data[loud]": 1:3: fail was called`) {
		t.Fatalf("error:\n%v\nwant prefix:\n%s", err, want)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "Pl4nted") {
		t.Fatalf("error leaks a value: %v", err)
	}
	if !errors.Is(err, seal.ErrNoKey) {
		t.Fatal("errors.Is(ErrNoKey) should hold")
	}
	var ue *UnsealError
	if !errors.As(err, &ue) || len(ue.Items) != 6 {
		t.Fatalf("UnsealError with 6 items expected: %#v", err)
	}
}

// UnsealUsing reports which keys opened the items, so key use can be tracked.
func TestUnsealUsingReportsKeys(t *testing.T) {
	k, other, unused := testkeys.RSA(t, "2048"), testkeys.RSA(t, "3072"), testkeys.RSA(t, "4096")
	ss, err := Seal(inputSecret(), &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra map[string]*rsa.PrivateKey // item -> key that seals it
		keys  []*rsa.PrivateKey
		want  []int
	}{
		{"one key", nil, []*rsa.PrivateKey{unused, k}, []int{1}},
		{"two keys", map[string]*rsa.PrivateKey{"other": other}, []*rsa.PrivateKey{other, unused, k}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ss.DeepCopy()
			for item, key := range tt.extra {
				in.Spec.EncryptedData[item], _ = seal.EncryptToString(nil, &key.PublicKey, []byte("prod/db"), []byte("v"))
			}
			_, used, err := UnsealUsing(in, tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(used) != fmt.Sprint(tt.want) {
				t.Fatalf("used = %v, want %v", used, tt.want)
			}
		})
	}
}

// Legacy v1 SealedSecrets hold the whole Secret as one sealed JSON blob.
func TestUnsealLegacyV1(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	plain, _ := json.Marshal(&corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns"},
		Data:       map[string][]byte{"k": []byte("v")},
	})
	blob, err := seal.Encrypt(nil, &k.PublicKey, []byte("ns/old"), plain)
	if err != nil {
		t.Fatal(err)
	}
	ss := &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns"}, Spec: ssv1.SealedSecretSpec{Data: blob}}
	sec, err := Unseal(ss, []*rsa.PrivateKey{k})
	if err != nil || string(sec.Data["k"]) != "v" || sec.Name != "old" {
		t.Fatalf("legacy: %v %v", sec, err)
	}
	ss.Spec.EncryptedData = ssv1.SealedSecretEncryptedData{"x": "y"}
	if _, err := Unseal(ss, []*rsa.PrivateKey{k}); err == nil || !strings.Contains(err.Error(), "cannot use encryptedData and the deprecated data field together") {
		t.Fatalf("both fields: %v", err)
	}
}

func TestSealInto(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	keys := []*rsa.PrivateKey{k}
	for _, scope := range seal.Scopes {
		t.Run(scope.String(), func(t *testing.T) {
			first := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "prod"}, StringData: map[string]string{"a": "1"}}
			dst, err := Seal(first, &k.PublicKey, Options{Scope: &scope})
			if err != nil {
				t.Fatal(err)
			}
			dst.Spec.Template.Labels, dst.Spec.Template.Annotations = nil, nil // kubeseal panics on these
			// The input names another Secret with no scope: the file decides.
			add := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "whatever", Namespace: "prod",
				Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"an": "v"}}, StringData: map[string]string{"b": "2", "a": "1b"}}
			if err := SealInto(dst, add, &k.PublicKey, Options{}); err != nil {
				t.Fatal(err)
			}
			sec, err := Unseal(dst, keys)
			if err != nil {
				t.Fatalf("merged SealedSecret does not open: %v", err)
			}
			if string(sec.Data["a"]) != "1b" || string(sec.Data["b"]) != "2" || dst.Spec.Template.Labels["l"] != "v" || dst.Spec.Template.Annotations["an"] != "v" {
				t.Fatalf("merged: data %v template %v", sec.Data, dst.Spec.Template.ObjectMeta)
			}
			if dst.Name != "app" || ScopeOf(dst.Annotations) != scope {
				t.Fatalf("identity changed: %s %v", dst.Name, dst.Annotations)
			}
			other := seal.ClusterWide
			if scope == seal.ClusterWide {
				other = seal.Strict
			}
			if err := SealInto(dst, add, &k.PublicKey, Options{Scope: &other}); err == nil || !strings.Contains(err.Error(), "items in one SealedSecret share its scope") {
				t.Fatalf("contradicting --scope: %v", err)
			}
		})
	}
}

func TestBuilders(t *testing.T) {
	lit, err := ParseLiteral("pass=a=b")
	if err != nil || lit.Key != "pass" || string(lit.Value) != "a=b" {
		t.Fatalf("literal %v %v", lit, err)
	}
	if _, err := ParseLiteral("Pl4nted"); err == nil || strings.Contains(err.Error(), "Pl4nted") {
		t.Fatalf("literal without key: %v", err)
	}
	env := "\xef\xbb\xbf# comment\n\n  USER=admin\nPASS= spaced \nEMPTY=\n"
	items, err := ParseEnvFile("app.env", []byte(env))
	if err != nil || len(items) != 3 || items[0].Key != "USER" || string(items[1].Value) != " spaced " || string(items[2].Value) != "" {
		t.Fatalf("env file: %+v %v", items, err)
	}
	if _, err := ParseEnvFile("app.env", []byte("OK=1\nPl4nted\n")); err == nil || err.Error() != "app.env line 2: expected KEY=VALUE (values are never read from the environment)" {
		t.Fatalf("env line without =: %v", err)
	}
	if _, err := NewSecret("s", "ns", "", []Item{{Key: "a", Source: "x"}, {Key: "a", Source: "y"}}); err == nil || !strings.Contains(err.Error(), `Secret "s": y: key "a" is given twice`) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := NewSecret("s", "ns", "", []Item{{Key: "a/b", Source: "x"}}); err == nil || !strings.Contains(err.Error(), "is not valid") {
		t.Fatalf("bad key: %v", err)
	}
	s, err := NewSecret("s", "ns", "", nil)
	if err != nil || s.Type != corev1.SecretTypeOpaque {
		t.Fatal(err)
	}
	d, err := NewDockerRegistrySecret("reg", "ns", "", "u", "p", "")
	if err != nil || d.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatal(err)
	}
	if got := string(d.Data[".dockerconfigjson"]); got != `{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p","auth":"dTpw"}}}` {
		t.Fatalf(".dockerconfigjson = %s", got)
	}
	if _, err := NewDockerRegistrySecret("reg", "ns", "", "u", "", ""); err == nil {
		t.Fatal("missing password accepted")
	}
	tls, err := NewTLSSecret("t", "ns", []byte("C"), []byte("K"))
	if err != nil || tls.Type != corev1.SecretTypeTLS || string(tls.Data["tls.key"]) != "K" {
		t.Fatal(err)
	}
}
