package sealing

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadDocuments(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kinds []string // kind/name per document
	}{
		{"single yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n", []string{"Secret/a"}},
		{"yaml stream with leading separator and comments",
			"---\n# first\napiVersion: v1\nkind: Secret\nmetadata: {name: a}\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n",
			[]string{"Secret/a", "Secret/b"}},
		{"concatenated json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b"}}{"kind":"Secret","metadata":{"name":"c"}}`,
			[]string{"Secret/a", "Secret/b", "Secret/c"}},
		{"json array", `[{"kind":"Secret","metadata":{"name":"a"}},{"kind":"Secret","metadata":{"name":"b"}}]`, []string{"Secret/a", "Secret/b"}},
		{"v1 List", "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  metadata: {name: a}\n- kind: Secret\n  metadata: {name: b}\n", []string{"Secret/a", "Secret/b"}},
		{"SecretList", `{"apiVersion":"v1","kind":"SecretList","items":[{"kind":"Secret","metadata":{"name":"a"}}]}`, []string{"Secret/a"}},
		{"json document in a yaml stream", "kind: Secret\nmetadata: {name: a}\n---\n{\"kind\": \"Secret\", \"metadata\": {\"name\": \"b\"}}\n", []string{"Secret/a", "Secret/b"}},
		{"empty", "", nil},
		{"only separators", "---\n---\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ReadDocuments(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, d := range docs {
				got = append(got, d.Kind+"/"+d.Name)
				if d.Index != i+1 {
					t.Errorf("index %d at position %d", d.Index, i)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.kinds, ",") {
				t.Fatalf("got %v, want %v", got, tt.kinds)
			}
		})
	}
}

// Malformed input is reported with the document number and no content:
// the broken text may be a secret value.
func TestReadDocumentsErrors(t *testing.T) {
	const planted = "Pl4nted-S3cret"
	tests := []struct {
		name, in, want string
	}{
		{"bad yaml", "kind: Secret\nmetadata: {name: a}\n---\nkind: Secret\ndata:\n  a: " + planted + "\n b: [\n", "document 2: malformed YAML"},
		{"tab indented yaml", "kind: Secret\nstringData:\n\tpass: " + planted + "\n", "document 1: malformed YAML"},
		{"bad json", `{"kind":"Secret"}{"kind":"Secret","data":{"a":` + planted + `}}`, "document 2: malformed JSON: syntax error at byte"},
		{"truncated json", `{"kind":"Secret","stringData":{"a":"` + planted, "document 1: malformed JSON"},
		{"scalar document", planted + "\n", "document 1: not a Kubernetes object"},
		{"two bad yaml documents: the first is reported", "kind: Secret\n---\nkind: Secret\n\tx: " + planted + "\n---\nkind: Secret\n---\n a: [\n", "document 2: malformed YAML"},
		{"yaml with duplicate key quoting the value", "kind: Secret\nstringData:\n  " + planted + ": 1\n  " + planted + ": 2\n", "document 1: malformed YAML: yaml: line 4: duplicate mapping key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadDocuments(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), planted) {
				t.Fatalf("error leaks input: %v", err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	const planted = "Pl4nted-S3cret"
	tests := []struct {
		name, in, want string
	}{
		{"configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: " + planted + "}\n", "document 1 (ConfigMap c): expected a v1 Secret, found v1 ConfigMap"},
		{"no kind", "metadata: {name: c}\n", "found an object without kind"},
		{"bad base64", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: '" + planted + "!'}\n", "document 1 (Secret s): a data value is not valid base64"},
		{"number value", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {pin: 918273645}\n", "document 1 (Secret s): field stringData: expected string, found number"},
		{"wrong type", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: [" + planted + "]}\n", "document 1 (Secret s): field stringData: expected string, found array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ReadDocuments(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			_, err = DecodeSecrets(docs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), planted) || strings.Contains(err.Error(), "918273645") {
				t.Fatalf("error leaks input: %v", err)
			}
		})
	}
	// Decoding is parallel; the error is still the first in stream order.
	var stream strings.Builder
	for i := 0; i < 200; i++ {
		kind := "Secret"
		if i == 120 || i == 190 {
			kind = "ConfigMap"
		}
		fmt.Fprintf(&stream, "---\napiVersion: v1\nkind: %s\nmetadata: {name: s%d}\n", kind, i)
	}
	docs, _ := ReadDocuments(strings.NewReader(stream.String()))
	if _, err := DecodeSecrets(docs); err == nil || !strings.Contains(err.Error(), "document 121 (ConfigMap s120)") {
		t.Fatalf("stream with two ConfigMaps: %v", err)
	}
	docs, _ = ReadDocuments(strings.NewReader("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"))
	if _, err := DecodeSealedSecrets(docs); err == nil || !strings.Contains(err.Error(), "expected a bitnami.com/v1alpha1 SealedSecret, found v1 Secret") {
		t.Fatalf("SealedSecret decode of a Secret: %v", err)
	}
}

// FuzzReadDocuments: the reader must not panic, and whatever it accepts
// must decode as objects with a position.
func FuzzReadDocuments(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: b\ndata:\n  k: dmFsdWU=\n",
		"---\nkind: Secret\n---\nkind: Secret\nstringData: {a: b}\n",
		`{"kind":"Secret"}{"kind":"Secret"}`,
		`[{"kind":"List","items":[{"kind":"Secret"}]}]`,
		"kind: List\nitems:\n- kind: SecretList\n  items:\n  - kind: Secret\n",
		"a: &x [*x]\n",
		"- - - -\n",
		"{",
		"\x00\xff",
		"key: |\n  multi\n  line\n---\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		docs, err := ReadDocuments(strings.NewReader(in))
		if err != nil {
			return
		}
		for i, d := range docs {
			if d.Index != i+1 || len(d.JSON) == 0 {
				t.Fatalf("document %d has index %d and %d bytes", i, d.Index, len(d.JSON))
			}
			_, _ = DecodeSecret(d)
			_, _ = DecodeSealedSecret(d)
		}
	})
}
