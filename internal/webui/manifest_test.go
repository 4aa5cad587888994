package webui_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"sigs.k8s.io/yaml"

	"github.com/keyward/keyward/internal/sealing"
	browsertest "github.com/keyward/keyward/test/browser"
	"github.com/keyward/keyward/test/testkeys"
)

// callManifest imports the page's manifest.js in the page and calls fn
// (parseManifest, toYAML or toJSON) on arg, returning the result as JSON
// or the error's message.
func callManifest(t *testing.T, p *browsertest.Page, fn string, arg any) (string, string) {
	t.Helper()
	a, _ := json.Marshal(arg)
	var res struct {
		Out string `json:"out"`
		Err string `json:"err"`
	}
	p.Run(t, chromedp.Evaluate(`import("./manifest.js").then(m => {
		try { return {out: JSON.stringify(m.`+fn+`(`+string(a)+`))}; } catch (e) { return {err: e.message}; }
	})`, &res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	return res.Out, res.Err
}

// TestParseManifest reads pasted SealedSecrets in the page as Go's YAML
// reader does, or refuses them with a message naming the line.
func TestParseManifest(t *testing.T) {
	p := openPage(t, certFor(t, testkeys.RSA(t, "2048")))
	for _, tc := range []struct {
		name, doc, wantErr string
	}{
		{"keyward seal output", "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    sealedsecrets.bitnami.com/namespace-wide: \"true\"\n  name: db\n  namespace: prod\nspec:\n  encryptedData:\n    a: AgB+/x==\n  template:\n    metadata:\n      name: db\n      namespace: prod\n    type: Opaque\n", ""},
		{"kubectl get -o yaml", `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  creationTimestamp: "2026-01-02T03:04:05Z"
  generation: 2
  name: db   # the database
  namespace: prod
  resourceVersion: "4711"
  uid: 0b7c-11
spec:
  encryptedData:
    password: AgBy3i4OJSWK+PiTySYZZA==
  template:
    metadata:
      labels:
        app: 'it''s'
        tier: "123"
      name: db
      namespace: prod
    immutable: true
# status as the controller writes it
status:
  conditions:
  - lastTransitionTime: "2026-01-02T03:04:06Z"
    status: "True"
    type: Synced
  - status: "False"
    type: Other
  keyFingerprints:
  - 3fa9
  observedGeneration: 2
`, ""},
		{"JSON", `{"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "x"}, "spec": {"encryptedData": {}}}`, ""},
		{"empty maps and null", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: x\n  labels: {}\nspec:\n  encryptedData:\n  template: ~\n", ""},
		{"two documents", "a: 1\n---\nb: 2\n", "more than one document"},
		{"block scalar", "a: |\n  text\n", "line 1: this page reads plain block YAML only"},
		{"flow map", "a: {b: c}\n", "line 1: this page reads plain block YAML only"},
		{"bad indentation", "a:\n    b: 1\n  c: 2\n", "line 3"},
		{"tab", "a:\n\tb: 1\n", "line 2: tabs cannot indent YAML"},
		{"bad JSON", `{"a": `, "not valid JSON"},
		{"nothing", "  \n", "nothing to merge into"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errMsg := callManifest(t, p, "parseManifest", tc.doc)
			if tc.wantErr != "" {
				if !strings.Contains(errMsg, tc.wantErr) {
					t.Fatalf("error %q, want one with %q (output %s)", errMsg, tc.wantErr, out)
				}
				return
			}
			if errMsg != "" {
				t.Fatalf("the page refused it: %s", errMsg)
			}
			want, err := yaml.YAMLToJSON([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var got, exp any
			json.Unmarshal([]byte(out), &got)
			json.Unmarshal(want, &exp)
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("the page read\n%s\nGo reads\n%s", out, want)
			}
		})
	}
}

// TestWriteManifest: for any strings (quoted, numeric-looking, spaced,
// non-ASCII), the page's YAML and JSON read back, with Go's reader, as
// the object it wrote; for the shape keyward seal writes, the text is
// keyward seal's (TestSealInBrowser).
func TestWriteManifest(t *testing.T) {
	p := openPage(t, certFor(t, testkeys.RSA(t, "2048")))
	obj := map[string]any{
		"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
		"metadata": map[string]any{"name": "db", "namespace": "prod", "annotations": map[string]any{
			"yes": "no", "n": "123", "x": "a b", "y": "", "z": "grüße: \"q\" #c", "w": "- item", "v": "null", "u": "1e3", "t": "0x1F", "s": "<&>",
		}},
		"spec": map[string]any{"encryptedData": map[string]any{"k10": "A", "k9": "B", "K": "C"},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{}}, "immutable": true}},
	}
	for _, fn := range []string{"toYAML", "toJSON"} {
		t.Run(fn, func(t *testing.T) {
			out, errMsg := callManifest(t, p, fn, obj)
			if errMsg != "" {
				t.Fatal(errMsg)
			}
			var text string
			json.Unmarshal([]byte(out), &text)
			docs, err := sealing.ReadDocuments(strings.NewReader(text))
			if err != nil || len(docs) != 1 {
				t.Fatalf("Go cannot read the page's %s (%v):\n%s", fn, err, text)
			}
			j, err := yaml.YAMLToJSON([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			var got any
			json.Unmarshal(j, &got)
			want, _ := json.Marshal(obj)
			var exp any
			json.Unmarshal(want, &exp)
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("the page's %s reads back as\n%s\nnot\n%s", fn, j, want)
			}
		})
	}
}
