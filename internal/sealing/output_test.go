package sealing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/test/testkeys"
)

// yamlTrickyStrings are values YAML would read as something other than a
// string, or must quote or fold.
var yamlTrickyStrings = []string{
	"", "on", "yes", "No", "null", "~", "true", "1", "0x1F", "1e3", "-1.5", ".inf", "0o17", "010",
	" leading", "trailing ", "a: b", "#x", "- x", "multi\nline\n", "tab\there", "é ünïcode ✓", "<>&",
	"line\u2028sep", "nul\x00byte", "'quoted'", `"double"`, "{flow}", "[seq]", "*alias", "&anchor", "!tag",
	"%directive", "@at", "`tick", "---", "...", "2026-12-03", "12:30:00",
	"a very long value that goes on and on past the width at which a YAML emitter might want to fold the line into several lines",
}

// TestMarshalYAMLMatchesSigsYAML: the YAML written for sealed manifests
// is sigs.k8s.io/yaml's Marshal byte for byte, strings and numbers alike.
func TestMarshalYAMLMatchesSigsYAML(t *testing.T) {
	// Keys start with distinct letters: go-yaml orders keys holding digits
	// by their numeric runs, not always consistently, so with keys such as
	// "010" and "1" even sigs.k8s.io/yaml's output depends on map order.
	meta := map[string]string{}
	for i, s := range yamlTrickyStrings {
		meta[fmt.Sprintf("%c%c", 'a'+i/26, 'a'+i%26)+s] = s
	}
	immutable := true
	objs := map[string]any{
		"sealed secret with tricky metadata": &ssv1.SealedSecret{
			TypeMeta:   metav1.TypeMeta{APIVersion: ssv1.APIVersion, Kind: ssv1.Kind},
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod", Annotations: meta},
			Spec: ssv1.SealedSecretSpec{
				Template: ssv1.SecretTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: meta, Annotations: meta},
					Type:       corev1.SecretTypeOpaque,
					Immutable:  &immutable,
					Data:       meta,
				},
				EncryptedData: ssv1.SealedSecretEncryptedData{"a": "AgB+/=", "on": "x"},
			},
		},
		"secret with bytes": &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: "s"},
			Data:       map[string][]byte{"bin": {0, 1, 2, 255}, "empty": {}},
			StringData: meta,
		},
		"numbers take sigs.k8s.io/yaml's own path": map[string]any{
			"int": 7, "big": uint64(1<<64 - 1), "float": 1.5, "whole float": 2.0, "neg": -3,
			"nested": []any{1, "1", map[string]any{"n": 1e21}},
		},
		"generation": &metav1.ObjectMeta{Name: "g", Generation: 3},
		"empty":      map[string]any{"m": map[string]any{}, "l": []any{}, "nil": nil},
		"plain manifest": map[string]any{
			"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
			"metadata": map[string]any{"name": "app-0001", "namespace": "bench", "annotations": map[string]any{"sealedsecrets.bitnami.com/cluster-wide": "true"}},
			"spec": map[string]any{
				"encryptedData": map[string]any{"password": "AgB+/x==", "a1": "Ag", "a01": "Ag", "a10": "Ag", "a2": "Ag", "A": "Ag", "a-b": "Ag", "a.b": "Ag", "ab": "Ag", "a_b": "Ag", "a": "Ag"},
				"template":      map[string]any{"metadata": map[string]any{"name": "app-0001", "creationTimestamp": nil}, "type": "Opaque", "immutable": true, "e": map[string]any{}},
			},
		},
		"plain with YAML 1.1 words":  map[string]any{"on": "true", "b": map[string]any{"c": "no", "d": "Null", "e": "tRUE", "f": "y", "NO": "Off", "g": "yES"}},
		"plain but for one string":   map[string]any{"a": "Ag", "b": map[string]any{"c": "no"}},
		"plain but for one key":      map[string]any{"a": "Ag", "b": map[string]any{"0c": "d"}},
		"plain but for a long key":   map[string]any{strings.Repeat("k", 129): "v"},
		"plain but for a long value": map[string]any{"k": strings.Repeat("Ag/+=", 400)},
		"plain but for a list":       map[string]any{"a": []any{"b"}},
		"empty document":             map[string]any{},
		"scalar":                     "on",
		"list":                       []string{"a", "yes", ""},
		"nil":                        nil,
	}
	for name, o := range objs {
		t.Run(name, func(t *testing.T) {
			want, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalYAML(o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func FuzzMarshalYAML(f *testing.F) {
	for _, s := range yamlTrickyStrings {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		o := map[string]any{k: v, "l": []any{v, map[string]string{v: k}}}
		plain := map[string]any{k: v, "m": map[string]any{v: k, "x": v, k + "1": nil}}
		want, err := yaml.Marshal(o)
		if err != nil {
			return
		}
		got, err := marshalYAML(o)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %q (%v), want %q", got, err, want)
		}
		want, err = yaml.Marshal(plain)
		if err != nil {
			return
		}
		got, err = marshalYAML(plain)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %q (%v), want %q", got, err, want)
		}
	})
}

// TestPlainYAMLTakesSealedSecrets: a SealedSecret as sealing makes it is
// written by the plain writer, not only by go-yaml, and the same bytes.
func TestPlainYAMLTakesSealedSecrets(t *testing.T) {
	k := testkeys.RSA(t, "2048")
	docs, err := ReadDocuments(bytes.NewReader(secretStream(3)))
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := DecodeSecrets(docs)
	if err != nil {
		t.Fatal(err)
	}
	immutable := true
	secrets[1].Immutable = &immutable
	secrets[2].Annotations = map[string]string{"sealedsecrets.bitnami.com/namespace-wide": "true"}
	secrets[2].Labels = map[string]string{"app.kubernetes.io/name": "db"}
	sealed, err := SealAll(secrets, &k.PublicKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ss := range sealed {
		j, err := json.Marshal(ss)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			t.Fatal(err)
		}
		got, ok := appendPlainYAML(nil, v)
		if !ok {
			t.Fatalf("%s: not taken by the plain writer", ss.Name)
		}
		want, err := yaml.Marshal(ss)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: got\n%s\nwant\n%s", ss.Name, got, want)
		}
	}
}
