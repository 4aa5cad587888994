package source

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const planted = "planted-tree-value-7q"

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// b64 of planted, so the fixtures need no encoder.
const plantedB64 = "cGxhbnRlZC10cmVlLXZhbHVlLTdx"

func TestReadTree(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    []string // namespace/name kind file#index.item keys
		skipped []string
		errHas  string
	}{
		{
			name: "secret documents among other kinds",
			files: map[string]string{
				"app.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# db\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\ndata: {password: " + plantedB64 + "}\nstringData: {user: admin}\n",
				"sealed.yaml":            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x, namespace: prod}\nspec: {encryptedData: {a: AgA=}}\n",
				"chart/templates/t.yaml": "{{ if .Values.x }}\nfoo: [\n{{ end }}\n",
				"notes.txt":              "kind: Secret\n",
			},
			want: []string{"prod/db manifest app.yaml#1.0 password,user"},
		},
		{
			name: "lists, json and the default namespace",
			files: map[string]string{
				"list.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  stringData: {k: v}\n",
				"s.json":    `{"apiVersion":"v1","kind":"SecretList","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b","namespace":"x"},"data":{"k":"` + plantedB64 + `"}}]}`,
			},
			want: []string{"def/a list list.yaml#0.1 k", "x/b list s.json#0.0 k"},
		},
		{
			name: "kustomize generator with literals, files, envs and options",
			files: map[string]string{
				"k/kustomization.yaml": "namespace: prod\nresources: [deploy.yaml]\ngeneratorOptions:\n  labels: {team: a}\nsecretGenerator:\n- name: db\n  literals: [\"user='admin'\"]\n  files: [pw=secret/pw.txt, ca.crt]\n  envs: [db.env]\n  type: Opaque\n- name: other\n  namespace: side\n  literals: [a=b]\n- name: patch\n  behavior: merge\n  literals: [c=d]\n",
				"k/secret/pw.txt":      planted,
				"k/ca.crt":             "cert",
				"k/db.env":             "# comment\nHOST=db\n",
				"k/deploy.yaml":        "apiVersion: v1\nkind: Secret\nmetadata: {name: inline, namespace: overridden}\nstringData: {a: b}\n",
			},
			want:    []string{"prod/db kustomize k/kustomization.yaml#0.0 HOST,ca.crt,pw,user", "prod/inline manifest k/deploy.yaml#0.0 a", "side/other kustomize k/kustomization.yaml#1.0 a"},
			skipped: []string{"prod/patch"},
		},
		{
			name:   "bad base64 names the field",
			files:  map[string]string{"a.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: '" + planted + "!'}\n"},
			errHas: "a.yaml: document 1: Secret db: field data.password: not valid base64",
		},
		{
			name:   "malformed secret document",
			files:  map[string]string{"a.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db\nstringData: {password: " + planted + "}\n"},
			errHas: "a.yaml: document 1: malformed YAML",
		},
		{
			name:   "no name",
			files:  map[string]string{"a.yaml": "---\napiVersion: v1\nkind: Secret\nstringData: {password: x}\n"},
			errHas: "field metadata.name is missing",
		},
		{
			name:   "generator input outside the folder",
			files:  map[string]string{"k/kustomization.yaml": "secretGenerator:\n- name: db\n  files: [../pw.txt]\n", "pw.txt": planted},
			errHas: "secretGenerator[0].files[0]: \"../pw.txt\" is outside",
		},
		{
			name:   "generator input missing",
			files:  map[string]string{"k/kustomization.yaml": "secretGenerator:\n- name: db\n  envs: [x.env]\n"},
			errHas: "secretGenerator[0] (db): envs[0]: file",
		},
		{
			name:   "literal without a key",
			files:  map[string]string{"k/kustomization.yaml": "secretGenerator:\n- name: db\n  literals: [" + planted + "]\n"},
			errHas: "literals[0]: expected KEY=VALUE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			tree, err := ReadTree([]string{dir}, TreeOptions{Namespace: "def"})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %q", err, tt.errHas)
				}
				if strings.Contains(err.Error(), planted) {
					t.Fatal("error leaks the value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range tree.Secrets {
				rel, _ := filepath.Rel(dir, s.Origin.File)
				var keys []string
				for k := range s.Secret.Data {
					keys = append(keys, k)
				}
				for k := range s.Secret.StringData {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				got = append(got, s.Key()+" "+string(s.Origin.Kind)+" "+rel+"#"+itoa(s.Origin.Index)+"."+itoa(s.Origin.Item)+" "+strings.Join(keys, ","))
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var skipped []string
			for _, s := range tree.Skipped {
				skipped = append(skipped, s.Secret)
			}
			if strings.Join(skipped, ",") != strings.Join(tt.skipped, ",") {
				t.Fatalf("skipped %v, want %v", skipped, tt.skipped)
			}
		})
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i))) }

// The kustomize Secret is the one kustomize builds: literal quotes
// dropped, files keyed by name or by key=, env lines, options applied.
func TestKustomizeValues(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml": "generatorOptions:\n  labels: {team: a}\n  immutable: true\nsecretGenerator:\n- name: db\n  literals: [\"user='admin'\", \"q=\\\"x\\\"\"]\n  files: [pw=pw.txt]\n  envs: [db.env]\n  options:\n    annotations: {note: n}\n",
		"pw.txt":             planted,
		"db.env":             "HOST=db\n",
	})
	tree, err := ReadTree([]string{dir}, TreeOptions{Namespace: "def"})
	if err != nil {
		t.Fatal(err)
	}
	s := tree.Secrets[0].Secret
	for k, want := range map[string]string{"user": "admin", "q": "x", "pw": planted, "HOST": "db"} {
		if string(s.Data[k]) != want {
			t.Errorf("%s = %q, want %q", k, s.Data[k], want)
		}
	}
	if s.Labels["team"] != "a" || s.Annotations["note"] != "n" || s.Immutable == nil || !*s.Immutable || s.Namespace != "def" || s.Type != "Opaque" {
		t.Errorf("metadata: %+v type %s", s.ObjectMeta, s.Type)
	}
	if len(tree.Secrets[0].Origin.Inputs) != 2 {
		t.Errorf("inputs %v", tree.Secrets[0].Origin.Inputs)
	}
}

func TestRemoveDocuments(t *testing.T) {
	sec := func(name string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\nstringData: {k: " + planted + "}\n"
	}
	tests := []struct {
		name   string
		body   string
		remove []Origin // File filled in
		want   string   // "" = file deleted
		errHas string
	}{
		{"only document", sec("a"), []Origin{{Kind: FromManifest, Index: 0}}, "", ""},
		{"middle document, others intact", "# head\napiVersion: v1\nkind: ConfigMap # keep\nmetadata: {name: c}\n---\n" + sec("a") + "---\n# tail\nkind: ConfigMap\n",
			[]Origin{{Kind: FromManifest, Index: 1}}, "# head\napiVersion: v1\nkind: ConfigMap # keep\nmetadata: {name: c}\n---\n# tail\nkind: ConfigMap\n", ""},
		{"comments only left", "# about\n---\n" + sec("a"), []Origin{{Kind: FromManifest, Index: 1}}, "", ""},
		{"one list item", "apiVersion: v1\nkind: List\n# items\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  stringData: {k: " + planted + "}\n",
			[]Origin{{Kind: FromList, Index: 0, Item: 1}}, "apiVersion: v1\nkind: List\n# items\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n", ""},
		{"last list item takes the list", "kind: ConfigMap\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n",
			[]Origin{{Kind: FromList, Index: 1, Item: 0}}, "kind: ConfigMap\n", ""},
		{"json list", `{"apiVersion":"v1","kind":"List","items":[{"kind":"Secret","metadata":{"name":"a"}},{"kind":"ConfigMap"}]}`,
			[]Origin{{Kind: FromList, Index: 0, Item: 0}}, "{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\n      \"kind\": \"ConfigMap\"\n    }\n  ],\n  \"kind\": \"List\"\n}\n", ""},
		{"document gone", sec("a"), []Origin{{Kind: FromManifest, Index: 3}}, sec("a"), "document 4 is not in the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"f.yaml": tt.body})
			f := filepath.Join(dir, "f.yaml")
			for i := range tt.remove {
				tt.remove[i].File = f
			}
			deleted, err := RemoveDocuments(f, tt.remove)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			b, rerr := os.ReadFile(f)
			if tt.want == "" {
				if !deleted || rerr == nil {
					t.Fatalf("file not deleted (deleted=%v)", deleted)
				}
				return
			}
			if deleted || string(b) != tt.want {
				t.Fatalf("file now\n%s\nwant\n%s", b, tt.want)
			}
		})
	}
}

func TestRemoveGenerators(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml": "# the app\nnamespace: prod\nresources:\n- deploy.yaml # the app\nsecretGenerator:\n- name: db\n  files: [pw.txt, shared.txt]\n  envs: [db.env]\n- name: other\n  files: [shared.txt]\nconfigMapGenerator:\n- name: cm\n  envs: [db.env]\n",
		"pw.txt":             planted,
		"shared.txt":         "s",
		"db.env":             "A=b\n",
		"deploy.yaml":        "kind: Deployment\n",
	})
	tree, err := ReadTree([]string{dir}, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kf := filepath.Join(dir, "kustomization.yaml")
	removed, err := tree.RemoveGenerators(kf, []int{0}, []string{filepath.Join(dir, "db.sealedsecret.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || filepath.Base(removed[0]) != "pw.txt" {
		t.Fatalf("removed %v, want pw.txt only (shared.txt and db.env are still read)", removed)
	}
	for name, want := range map[string]bool{"pw.txt": false, "shared.txt": true, "db.env": true, PendingFile: false} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", name, err == nil, want)
		}
	}
	b, _ := os.ReadFile(kf)
	want := "# the app\nnamespace: prod\nresources:\n  - deploy.yaml # the app\n  - db.sealedsecret.yaml\nsecretGenerator:\n  - name: other\n    files: [shared.txt]\nconfigMapGenerator:\n  - name: cm\n    envs: [db.env]\n"
	if string(b) != want {
		t.Fatalf("kustomization now\n%s\nwant\n%s", b, want)
	}
	// A journal left by a run killed after the rewrite finishes on the next.
	if err := os.WriteFile(filepath.Join(dir, PendingFile), []byte(`{"remove":["shared.txt","gone.txt","../escape"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tree, err = ReadTree([]string{dir}, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := tree.Pending(); len(p) != 0 {
		t.Fatalf("pending %v: shared.txt is still read by 'other'", p)
	}
	if _, err := tree.RemoveGenerators(kf, []int{0}, []string{filepath.Join(dir, "other.sealedsecret.yaml")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shared.txt")); err == nil {
		t.Fatal("shared.txt kept after its last reader was sealed")
	}
	b, _ = os.ReadFile(kf)
	if strings.Contains(string(b), "secretGenerator") {
		t.Fatalf("empty secretGenerator kept:\n%s", b)
	}
	if _, err := tree.RemoveGenerators(kf, []int{0}, nil); err == nil {
		t.Fatal("removing a gone entry succeeded")
	}
}

func TestTreeConsumers(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"w.yaml": `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: prod}
spec:
  imagePullSecrets: [{name: pull}]
  containers: [{name: c, image: i, envFrom: [{secretRef: {name: db}}]}]
  volumes: [{name: v, secret: {secretName: certs}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  template:
    spec:
      containers: [{name: c, image: i, env: [{name: X, valueFrom: {secretKeyRef: {name: db, key: k}}}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: elsewhere, namespace: other}
spec:
  template:
    spec:
      containers: [{name: c, image: i, envFrom: [{secretRef: {name: db}}]}]
`,
	})
	tree, err := ReadTree([]string{dir}, TreeOptions{Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ ns, name, want string }{
		{"prod", "db", "Pod/prod/p,StatefulSet/prod/s"},
		{"prod", "pull", "Pod/prod/p"},
		{"prod", "certs", "Pod/prod/p"},
		{"other", "db", "Deployment/other/elsewhere"},
		{"prod", "none", ""},
	} {
		if got := strings.Join(tree.Consumers(tt.ns, tt.name), ","); got != tt.want {
			t.Errorf("Consumers(%s, %s) = %q, want %q", tt.ns, tt.name, got, tt.want)
		}
	}
}

func TestReplaceDocumentsListsTheSealedFile(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"kustomization.yaml":   "namespace: prod\nresources:\n- db.yaml # secrets\n- ./multi.yaml\n- deploy.yaml\n",
		"db.yaml":              "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {k: " + planted + "}\n",
		"multi.yaml":           "kind: ConfigMap\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData: {k: v}\n",
		"deploy.yaml":          "kind: Deployment\n",
		"db.sealedsecret.yaml": "x", "api.sealedsecret.yaml": "x",
	})
	tree, err := ReadTree([]string{filepath.Join(dir, "kustomization.yaml"), filepath.Join(dir, "db.yaml"), filepath.Join(dir, "multi.yaml")}, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Secrets) != 2 || tree.Secrets[0].Secret.Namespace != "prod" {
		t.Fatalf("secrets %+v", tree.Secrets)
	}
	for _, s := range tree.Secrets {
		sealed := filepath.Join(dir, s.Secret.Name+".sealedsecret.yaml")
		if _, err := tree.ReplaceDocuments(s.Origin.File, []Origin{s.Origin}, []string{sealed}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	want := "namespace: prod\nresources:\n  - ./multi.yaml\n  - deploy.yaml\n  - db.sealedsecret.yaml\n  - api.sealedsecret.yaml\n"
	if string(b) != want {
		t.Fatalf("kustomization now\n%s\nwant\n%s", b, want)
	}
	if _, err := os.Stat(filepath.Join(dir, PendingFile)); err == nil {
		t.Fatal("the journal is left behind")
	}
	// A run killed after removing a file and before listing: the next
	// read of the tree finishes the listing.
	os.Remove(filepath.Join(dir, "deploy.yaml"))
	os.WriteFile(filepath.Join(dir, PendingFile), []byte(`{"add":["late.sealedsecret.yaml"],"unlist":["deploy.yaml","./multi.yaml"]}`), 0o600)
	tree, err = ReadTree([]string{dir}, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.FinishPending(); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	want = "namespace: prod\nresources:\n  - ./multi.yaml\n  - db.sealedsecret.yaml\n  - api.sealedsecret.yaml\n  - late.sealedsecret.yaml\n"
	if string(b) != want {
		t.Fatalf("after the journal\n%s\nwant\n%s", b, want)
	}
	// Outside the kustomization's folder, nothing is done.
	tree, _ = ReadTree([]string{dir}, TreeOptions{})
	if _, err := tree.ReplaceDocuments(filepath.Join(dir, "multi.yaml"), nil, []string{"/elsewhere/x.yaml"}); err == nil || !strings.Contains(err.Error(), "outside its folder") {
		t.Fatalf("err = %v", err)
	}
}
