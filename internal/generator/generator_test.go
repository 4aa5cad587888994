package generator

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/specerr"
)

func ptr[T any](v T) *T { return &v }

// counts tallies a password's characters by class.
func counts(p string, symbols string) (digits, syms, lower, upper int) {
	for _, c := range p {
		switch {
		case unicode.IsDigit(c):
			digits++
		case strings.ContainsRune(symbols, c):
			syms++
		case unicode.IsLower(c):
			lower++
		case unicode.IsUpper(c):
			upper++
		}
	}
	return
}

func TestPassword(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		spec                 genv1alpha1.PasswordSpec
		length, digits, syms int
		symbolSet            string
		noUpper, mustRepeat  bool
	}{
		{name: "defaults", spec: genv1alpha1.PasswordSpec{}, length: 24, digits: 6, syms: 6, symbolSet: defaultSymbols},
		{name: "length 32, a quarter each", spec: genv1alpha1.PasswordSpec{Length: 32}, length: 32, digits: 8, syms: 8, symbolSet: defaultSymbols},
		{name: "counts given", spec: genv1alpha1.PasswordSpec{Length: 20, Digits: ptr(5), Symbols: ptr(0)}, length: 20, digits: 5, syms: 0, symbolSet: defaultSymbols},
		{name: "own symbols", spec: genv1alpha1.PasswordSpec{Length: 12, Digits: ptr(2), Symbols: ptr(3), SymbolCharacters: ptr("#%&")}, length: 12, digits: 2, syms: 3, symbolSet: "#%&"},
		{name: "no upper", spec: genv1alpha1.PasswordSpec{Length: 30, Digits: ptr(4), Symbols: ptr(4), NoUpper: true}, length: 30, digits: 4, syms: 4, symbolSet: defaultSymbols, noUpper: true},
		{name: "digits only, repeats allowed", spec: genv1alpha1.PasswordSpec{Length: 40, Digits: ptr(40), Symbols: ptr(0), AllowRepeat: true}, length: 40, digits: 40, symbolSet: defaultSymbols, mustRepeat: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				out, err := Password(tc.spec, nil2rand())
				if err != nil {
					t.Fatal(err)
				}
				if len(out) != 1 || out["password"] == nil {
					t.Fatalf("keys = %v, want only password", keys(out))
				}
				p := string(out["password"])
				if n := len([]rune(p)); n != tc.length {
					t.Fatalf("length %d, want %d", n, tc.length)
				}
				d, s, lo, up := counts(p, tc.symbolSet)
				if d != tc.digits || s != tc.syms || lo+up != tc.length-tc.digits-tc.syms {
					t.Fatalf("digits %d symbols %d letters %d; want %d %d %d", d, s, lo+up, tc.digits, tc.syms, tc.length-tc.digits-tc.syms)
				}
				if tc.noUpper && up > 0 {
					t.Fatalf("%d upper-case letters with noUpper", up)
				}
				seen := map[rune]bool{}
				repeat := false
				for _, c := range p {
					repeat = repeat || seen[c]
					seen[c] = true
				}
				if repeat && !tc.spec.AllowRepeat {
					t.Fatal("a character repeats without allowRepeat")
				}
				if tc.mustRepeat && !repeat {
					t.Fatal("40 digits without a repeat")
				}
			}
		})
	}
}

func TestPasswordErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec genv1alpha1.PasswordSpec
		want string
	}{
		{"too many classes", genv1alpha1.PasswordSpec{Length: 8, Digits: ptr(5), Symbols: ptr(5)}, "spec.digits + spec.symbols (10) exceed spec.length (8)"},
		{"negative length", genv1alpha1.PasswordSpec{Length: -1}, "spec.length"},
		{"negative digits", genv1alpha1.PasswordSpec{Length: 8, Digits: ptr(-1)}, "must not be negative"},
		{"11 distinct digits", genv1alpha1.PasswordSpec{Length: 11, Digits: ptr(11), Symbols: ptr(0)}, "spec.digits: 11 characters asked for but only 10 distinct"},
		{"symbols from an empty set", genv1alpha1.PasswordSpec{Length: 8, Symbols: ptr(2), SymbolCharacters: ptr("")}, "spec.symbols: 2 characters asked for but there are none"},
		{"too many lower-case letters", genv1alpha1.PasswordSpec{Length: 30, Digits: ptr(0), Symbols: ptr(0), NoUpper: true}, "spec.length (letters): 30 characters asked for but only 26"},
		{"symbols all taken by digits", genv1alpha1.PasswordSpec{Length: 11, Digits: ptr(10), Symbols: ptr(1), SymbolCharacters: ptr("0123456789")}, "spec.symbols: 1 characters asked for but there are none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Password(tc.spec, nil2rand())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !specerr.Is(err) {
				t.Fatalf("err = %v, want a spec error with %q", err, tc.want)
			}
		})
	}
}

func TestPasswordsDiffer(t *testing.T) {
	a, _ := Password(genv1alpha1.PasswordSpec{}, nil2rand())
	b, _ := Password(genv1alpha1.PasswordSpec{}, nil2rand())
	if bytes.Equal(a["password"], b["password"]) {
		t.Fatal("two passwords are equal")
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUID(t *testing.T) {
	a, err := UUID(nil2rand())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := UUID(nil2rand())
	if !uuidRE.Match(a["uuid"]) || len(a) != 1 {
		t.Fatalf("not one version 4 UUID under uuid: keys %v", keys(a))
	}
	if bytes.Equal(a["uuid"], b["uuid"]) {
		t.Fatal("two UUIDs are equal")
	}
}

func scheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, esv1.AddToScheme, genv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestGenerate(t *testing.T) {
	objs := []client.Object{
		&genv1alpha1.Fake{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "f"}, Spec: genv1alpha1.FakeSpec{Data: map[string]string{"k": "v", "x": "y"}}},
		&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p"}, Spec: genv1alpha1.PasswordSpec{Length: 10}},
		&genv1alpha1.UUID{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "u"}},
		&genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "cf"}, Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "Fake",
			Generator: genv1alpha1.GeneratorSpec{FakeSpec: &genv1alpha1.FakeSpec{Data: map[string]string{"c": "d"}}}}},
		&genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "cp"}, Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "Password",
			Generator: genv1alpha1.GeneratorSpec{PasswordSpec: &genv1alpha1.PasswordSpec{Length: 16}}}},
		&genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "mismatch"}, Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "Password",
			Generator: genv1alpha1.GeneratorSpec{FakeSpec: &genv1alpha1.FakeSpec{}}}},
		&genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "two"}, Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "Fake",
			Generator: genv1alpha1.GeneratorSpec{FakeSpec: &genv1alpha1.FakeSpec{}, UUIDSpec: &genv1alpha1.UUIDSpec{}}}},
		&genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "ecr"}, Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "ECRAuthorizationToken"}},
		&genv1alpha1.VaultDynamicSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "nopath"}, Spec: genv1alpha1.VaultDynamicSecretSpec{Provider: &esv1.VaultProvider{Server: "http://127.0.0.1:1"}}},
		&genv1alpha1.VaultDynamicSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "badparams"}, Spec: genv1alpha1.VaultDynamicSecretSpec{Path: "pki/issue/x",
			Provider: &esv1.VaultProvider{Server: "http://127.0.0.1:1"}, Parameters: &apiextensionsv1.JSON{Raw: []byte(`["PLANTED"]`)}}},
	}
	r := &Resolver{Reader: fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...).Build()}
	for _, tc := range []struct {
		name     string
		ns       string
		ref      esv1.GeneratorRef
		wantKeys string
		wantErr  string
	}{
		{name: "fake", ns: "a", ref: esv1.GeneratorRef{APIVersion: "generators.external-secrets.io/v1alpha1", Kind: "Fake", Name: "f"}, wantKeys: "k,x"},
		{name: "password", ns: "a", ref: esv1.GeneratorRef{Kind: "Password", Name: "p"}, wantKeys: "password"},
		{name: "uuid", ns: "a", ref: esv1.GeneratorRef{Kind: "UUID", Name: "u"}, wantKeys: "uuid"},
		{name: "cluster fake from any namespace", ns: "b", ref: esv1.GeneratorRef{Kind: "ClusterGenerator", Name: "cf"}, wantKeys: "c"},
		{name: "cluster password", ns: "b", ref: esv1.GeneratorRef{Kind: "ClusterGenerator", Name: "cp"}, wantKeys: "password"},
		{name: "a namespaced generator of another namespace", ns: "b", ref: esv1.GeneratorRef{Kind: "Fake", Name: "f"}, wantErr: "F: Fake b/f not found"},
		{name: "wrong apiVersion", ns: "a", ref: esv1.GeneratorRef{APIVersion: "generators.external-secrets.io/v2", Kind: "Fake", Name: "f"}, wantErr: "F.apiVersion"},
		{name: "unknown kind", ns: "a", ref: esv1.GeneratorRef{Kind: "SSHKey", Name: "s"}, wantErr: `F.kind: Keyward runs the generators Password, UUID, Fake, VaultDynamicSecret and ClusterGenerator, not "SSHKey"`},
		{name: "no name", ns: "a", ref: esv1.GeneratorRef{Kind: "Fake"}, wantErr: "F.name: required"},
		{name: "cluster kind and spec differ", ns: "a", ref: esv1.GeneratorRef{Kind: "ClusterGenerator", Name: "mismatch"}, wantErr: "spec.generator.passwordSpec: required for spec.kind Password"},
		{name: "cluster with two specs", ns: "a", ref: esv1.GeneratorRef{Kind: "ClusterGenerator", Name: "two"}, wantErr: "set only the spec spec.kind names"},
		{name: "cluster kind not run", ns: "a", ref: esv1.GeneratorRef{Kind: "ClusterGenerator", Name: "ecr"}, wantErr: `spec.kind: Keyward runs Password, UUID, Fake and VaultDynamicSecret, not "ECRAuthorizationToken"`},
		{name: "vault without path", ns: "a", ref: esv1.GeneratorRef{Kind: "VaultDynamicSecret", Name: "nopath"}, wantErr: "spec.path: required"},
		{name: "vault parameters not an object", ns: "a", ref: esv1.GeneratorRef{Kind: "VaultDynamicSecret", Name: "badparams"}, wantErr: "spec.parameters: not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.Generate(context.Background(), tc.ns, tc.ref, "F")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "PLANTED") {
					t.Fatal("the error quotes the spec's parameters")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(keys(out), ","); got != tc.wantKeys {
				t.Fatalf("keys %s, want %s", got, tc.wantKeys)
			}
		})
	}
}

// TestGenerateWithoutCRDs: on a cluster with only Bitnami's or ESO's
// non-generator CRDs, a generatorRef fails with a message saying so.
func TestGenerateWithoutCRDs(t *testing.T) {
	noMatch := interceptor.Funcs{Get: func(_ context.Context, _ client.WithWatch, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
		return &meta.NoKindMatchError{GroupKind: genv1alpha1.GroupVersion.WithKind("Password").GroupKind(), SearchedVersions: []string{"v1alpha1"}}
	}}
	r := &Resolver{Reader: fake.NewClientBuilder().WithScheme(scheme(t)).WithInterceptorFuncs(noMatch).Build()}
	_, err := r.Generate(context.Background(), "a", esv1.GeneratorRef{Kind: "Password", Name: "p"}, "F")
	want := "F: the API server does not serve generators.external-secrets.io/v1alpha1 Password (its CRD is not installed)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestGenerateControllerClass: a Fake or VaultDynamicSecret naming another
// controller class is left to that controller; an unnamed one is anyone's.
func TestGenerateControllerClass(t *testing.T) {
	objs := []client.Object{
		&genv1alpha1.Fake{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "dev"}, Spec: genv1alpha1.FakeSpec{Controller: "dev", Data: map[string]string{"k": "v"}}},
		&genv1alpha1.Fake{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "any"}, Spec: genv1alpha1.FakeSpec{Data: map[string]string{"k": "v"}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...).Build()
	for _, tc := range []struct {
		class   *string
		name    string
		skipped bool
	}{
		{ptr(""), "dev", true},
		{ptr("dev"), "dev", false},
		{ptr("prod"), "any", false},
		{nil, "dev", false},
	} {
		r := &Resolver{Reader: c, Class: tc.class}
		_, err := r.Generate(context.Background(), "a", esv1.GeneratorRef{Kind: "Fake", Name: tc.name}, "F")
		if got := errors.Is(err, storeref.ErrOtherController); got != tc.skipped || (!tc.skipped && err != nil) {
			t.Errorf("class %v, Fake %s: err = %v; want skipped %v", tc.class, tc.name, err, tc.skipped)
		}
	}
}
