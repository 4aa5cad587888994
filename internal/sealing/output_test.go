package sealing

import (
	"bytes"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
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
		"scalar":     "on",
		"list":       []string{"a", "yes", ""},
		"nil":        nil,
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
		want, err := yaml.Marshal(o)
		if err != nil {
			return
		}
		got, err := marshalYAML(o)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %q (%v), want %q", got, err, want)
		}
	})
}
