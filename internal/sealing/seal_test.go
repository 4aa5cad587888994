package sealing

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/test/testkeys"
)

func scopePtr(s seal.Scope) *seal.Scope { return &s }

func inputSecret() *corev1.Secret {
	yes := true
	now := metav1.Now()
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "db", Namespace: "prod", UID: "u-1", ResourceVersion: "42", Generation: 3,
			CreationTimestamp: now, DeletionTimestamp: &now,
			Labels: map[string]string{"app": "api"},
			Annotations: map[string]string{
				"team": "payments",
				"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"password":"hunter2"}}`,
				"kubecfg.ksonnet.io/last-applied-configuration":    "hunter2",
			},
			OwnerReferences: []metav1.OwnerReference{{Name: "x"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Type:       corev1.SecretTypeOpaque,
		Immutable:  &yes,
		Data:       map[string][]byte{"user": []byte("admin"), "both": []byte("from-data")},
		StringData: map[string]string{"password": "hunter2", "both": "from-stringData"},
	}
}

// The JSON shape is kubeseal's, byte for byte apart from the random
// ciphertexts: field order, stripped metadata, the scope annotations.
func TestSealOutputShape(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	ss, err := Seal(inputSecret(), &k.PublicKey, Options{Scope: scopePtr(seal.NamespaceWide)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(JSON, ss)
	if err != nil {
		t.Fatal(err)
	}
	masked := regexp.MustCompile(`"AQ[A-Za-z0-9+/=]+"`).ReplaceAllString(string(out), `"X"`)
	want := `{
  "kind": "SealedSecret",
  "apiVersion": "bitnami.com/v1alpha1",
  "metadata": {
    "name": "db",
    "namespace": "prod",
    "annotations": {
      "sealedsecrets.bitnami.com/namespace-wide": "true"
    }
  },
  "spec": {
    "template": {
      "metadata": {
        "name": "db",
        "namespace": "prod",
        "labels": {
          "app": "api"
        },
        "annotations": {
          "sealedsecrets.bitnami.com/namespace-wide": "true",
          "team": "payments"
        }
      },
      "type": "Opaque",
      "immutable": true
    },
    "encryptedData": {
      "both": "X",
      "password": "X",
      "user": "X"
    }
  }
}
`
	if masked != want {
		t.Fatalf("JSON output:\n%s\nwant:\n%s", masked, want)
	}
	if strings.Contains(string(out), "hunter2") {
		t.Fatal("plaintext in output")
	}
	y, err := Encode(YAML, ss, ss)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(y), "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n") || strings.Count(string(y), "---\n") != 2 {
		t.Fatalf("YAML output:\n%s", y)
	}
	sec, err := Unseal(ss, []*rsa.PrivateKey{k})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["both"]) != "from-stringData" {
		t.Fatalf("stringData must win over data, got %q", sec.Data["both"])
	}
}

func TestSealOptionsAndErrors(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	bare := func(mut func(*corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"}, StringData: map[string]string{"p": "Pl4nted"}}
		mut(s)
		return s
	}
	tests := []struct {
		name     string
		in       *corev1.Secret
		opts     Options
		wantErr  string
		wantNS   string
		wantName string
		wantAnn  map[string]string
	}{
		{name: "defaults", in: bare(func(*corev1.Secret) {}), wantNS: "prod", wantName: "db"},
		{name: "--name", in: bare(func(*corev1.Secret) {}), opts: Options{Name: "other"}, wantNS: "prod", wantName: "other"},
		{name: "-n fills", in: bare(func(s *corev1.Secret) { s.Namespace = "" }), opts: Options{Namespace: "dev"}, wantNS: "dev", wantName: "db"},
		{name: "-n agrees", in: bare(func(*corev1.Secret) {}), opts: Options{Namespace: "prod"}, wantNS: "prod", wantName: "db"},
		{name: "-n conflicts", in: bare(func(*corev1.Secret) {}), opts: Options{Namespace: "dev"}, wantErr: `Secret "db" declares namespace "prod" but --namespace says "dev"`},
		{name: "context namespace", in: bare(func(s *corev1.Secret) { s.Namespace = "" }), opts: Options{DefaultNamespace: "ctx"}, wantNS: "ctx", wantName: "db"},
		{name: "no namespace strict", in: bare(func(s *corev1.Secret) { s.Namespace = "" }), wantErr: `Secret "db" has no namespace: set metadata.namespace or pass --namespace (strict scope binds the namespace)`},
		{name: "no namespace namespace-wide", in: bare(func(s *corev1.Secret) { s.Namespace = "" }), opts: Options{Scope: scopePtr(seal.NamespaceWide)}, wantErr: "namespace-wide scope binds the namespace"},
		{name: "no namespace cluster-wide", in: bare(func(s *corev1.Secret) { s.Namespace = "" }), opts: Options{Scope: scopePtr(seal.ClusterWide)}, wantName: "db",
			wantAnn: map[string]string{ssv1.ClusterWideAnnotation: "true"}},
		{name: "cluster-wide by annotation", in: bare(func(s *corev1.Secret) {
			s.Namespace = ""
			s.Annotations = map[string]string{ssv1.ClusterWideAnnotation: "true", ssv1.NamespaceWideAnnotation: "true"}
		}), wantName: "db", wantAnn: map[string]string{ssv1.ClusterWideAnnotation: "true"}},
		{name: "--scope strict rewrites annotations", in: bare(func(s *corev1.Secret) { s.Annotations = map[string]string{ssv1.ClusterWideAnnotation: "true"} }),
			opts: Options{Scope: scopePtr(seal.Strict)}, wantNS: "prod", wantName: "db"},
		{name: "annotation must be exactly true", in: bare(func(s *corev1.Secret) { s.Annotations = map[string]string{ssv1.ClusterWideAnnotation: "True"} }),
			wantNS: "prod", wantName: "db"},
		{name: "empty data", in: bare(func(s *corev1.Secret) { s.StringData = nil }), wantErr: `Secret "db": data and stringData are empty; pass --allow-empty-data`},
		{name: "empty data allowed", in: bare(func(s *corev1.Secret) { s.StringData = nil }), opts: Options{AllowEmptyData: true}, wantNS: "prod", wantName: "db"},
		{name: "no name", in: bare(func(s *corev1.Secret) { s.Name = "" }), wantErr: "Secret has no metadata.name; set it or pass --name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss, err := Seal(tt.in, &k.PublicKey, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "Pl4nted") {
					t.Fatal("error leaks a value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ss.Namespace != tt.wantNS || ss.Name != tt.wantName || ss.Spec.Template.Name != tt.wantName {
				t.Fatalf("got %s/%s template %s", ss.Namespace, ss.Name, ss.Spec.Template.Name)
			}
			if len(ss.Annotations) != len(tt.wantAnn) {
				t.Fatalf("annotations %v, want %v", ss.Annotations, tt.wantAnn)
			}
			for k, v := range tt.wantAnn {
				if ss.Annotations[k] != v {
					t.Fatalf("annotations %v, want %v", ss.Annotations, tt.wantAnn)
				}
			}
			if ss.Spec.EncryptedData == nil {
				t.Fatal("encryptedData must always be present")
			}
			// It opens under its own identity.
			if _, err := Unseal(ss, []*rsa.PrivateKey{k}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := Seal(bare(func(*corev1.Secret) {}), nil, Options{}); err == nil {
		t.Fatal("nil key accepted")
	}
	if _, err := SealAll([]*corev1.Secret{bare(func(*corev1.Secret) {}), bare(func(s *corev1.Secret) { s.Name = "" })}, &k.PublicKey, Options{}); err == nil || !strings.HasPrefix(err.Error(), "input 2: ") {
		t.Fatalf("stream error must name the input: %v", err)
	}
	// Prepare must not modify the caller's Secret.
	in := inputSecret()
	if _, err := Seal(in, &k.PublicKey, Options{Scope: scopePtr(seal.ClusterWide)}); err != nil || in.Annotations[ssv1.ClusterWideAnnotation] != "" || in.UID == "" {
		t.Fatalf("input modified: %v", in.ObjectMeta)
	}
}

// Every scope and key size: what Seal makes, Unseal opens, under exactly
// the identities the scope allows.
func TestRoundTripScopes(t *testing.T) {
	for _, bits := range []string{"2048", "3072", "4096"} {
		k := testkeys.RSA(t, bits)
		keys := []*rsa.PrivateKey{k}
		for _, scope := range seal.Scopes {
			ss, err := Seal(inputSecret(), &k.PublicKey, Options{Scope: scopePtr(scope)})
			if err != nil {
				t.Fatal(err)
			}
			moves := []struct {
				ns, name string
				opens    bool
			}{
				{"prod", "db", true},
				{"prod", "renamed", scope != seal.Strict},
				{"other", "db", scope == seal.ClusterWide},
			}
			for _, m := range moves {
				moved := ss.DeepCopy()
				moved.Namespace, moved.Name = m.ns, m.name
				sec, err := Unseal(moved, keys)
				if !m.opens {
					if !errors.Is(err, seal.ErrNoKey) {
						t.Errorf("%s %s moved to %s/%s: err = %v, want no key", bits, scope, m.ns, m.name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s %s at %s/%s: %v", bits, scope, m.ns, m.name, err)
				}
				if string(sec.Data["password"]) != "hunter2" || string(sec.Data["user"]) != "admin" || sec.Namespace != m.ns || sec.Name != m.name {
					t.Fatalf("%s %s: wrong Secret %v", bits, scope, sec.ObjectMeta)
				}
			}
		}
	}
}

func TestSealAllDeterministic(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	var in []*corev1.Secret
	for i := 0; i < 20; i++ {
		s := inputSecret()
		s.Name = "s" + strings.Repeat("x", i)
		in = append(in, s)
	}
	out, err := SealAll(in, &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ss := range out {
		if ss.Name != in[i].Name || len(ss.Spec.EncryptedData) != 3 {
			t.Fatalf("output %d is %s with %d items", i, ss.Name, len(ss.Spec.EncryptedData))
		}
		sec, err := Unseal(ss, []*rsa.PrivateKey{k})
		if err != nil || string(sec.Data["user"]) != "admin" {
			t.Fatalf("output %d: %v", i, err)
		}
	}
}

func TestSealRaw(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	tests := []struct {
		scope    seal.Scope
		ns, name string
		wantErr  string
	}{
		{seal.Strict, "prod", "db", ""},
		{seal.Strict, "prod", "", "--raw with strict scope needs --name"},
		{seal.Strict, "", "db", "--raw with strict scope needs --namespace"},
		{seal.NamespaceWide, "prod", "", ""},
		{seal.NamespaceWide, "", "db", "--raw with namespace-wide scope needs --namespace"},
		{seal.ClusterWide, "", "", ""},
	}
	for _, tt := range tests {
		out, err := SealRaw(&k.PublicKey, tt.scope, tt.ns, tt.name, []byte("v"), nil)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v: err = %v", tt, err)
			}
			continue
		}
		got, err := seal.DecryptString([]*rsa.PrivateKey{k}, seal.Label(tt.scope, tt.ns, tt.name), out)
		if err != nil || string(got) != "v" {
			t.Errorf("%v: %v", tt, err)
		}
	}
}

func TestEncodeFormats(t *testing.T) {
	for in, want := range map[string]string{"": JSON, "json": JSON, "YAML": YAML, "yml": YAML} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("toml"); err == nil {
		t.Error("toml accepted")
	}
	if FormatForFile("x.yml", JSON) != YAML || FormatForFile("x.YAML", JSON) != YAML || FormatForFile("x.json", YAML) != YAML || FormatForFile("x", JSON) != JSON {
		t.Error("FormatForFile")
	}
	if DetectFormat([]byte("  {")) != JSON || DetectFormat([]byte("---\n")) != YAML {
		t.Error("DetectFormat")
	}
	// Objects are marshalled in parallel but written in their order.
	objs := make([]any, 300)
	var want strings.Builder
	for i := range objs {
		objs[i] = map[string]int{"i": i}
		fmt.Fprintf(&want, "---\ni: %d\n", i)
	}
	if y, err := Encode(YAML, objs...); err != nil || string(y) != want.String() {
		t.Errorf("YAML stream of %d objects out of order (err %v)", len(objs), err)
	}
	if _, err := Encode(JSON, append(objs, func() {})...); err == nil {
		t.Error("an object JSON cannot encode was accepted")
	}
	var m map[string]any
	b, _ := Encode(JSON, map[string]int{"a": 1})
	if json.Unmarshal(b, &m) != nil || !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("JSON encoding %q", b)
	}
}
