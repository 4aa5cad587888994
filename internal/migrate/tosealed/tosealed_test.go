package tosealed

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/migrate"
	"github.com/keyward/keyward/internal/migrate/source"
	"github.com/keyward/keyward/internal/sealing"
	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/testkeys"
)

const planted = "planted-tosealed-v9"

func tree(t *testing.T, files map[string]string) (string, *source.Tree) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := source.ReadTree([]string{dir}, source.TreeOptions{Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	return dir, tr
}

func opts(tr *source.Tree, pub *rsa.PublicKey) Options {
	return Options{Secrets: tr.Secrets, Skipped: tr.Skipped, Tree: tr, Pub: pub, HMACKey: []byte("0123456789abcdef0123456789abcdef")}
}

func ops(r migrate.Report) string {
	var s []string
	for _, a := range r.Actions {
		s = append(s, a.Secret+" "+string(a.Op))
	}
	return strings.Join(s, "; ")
}

func secretYAML(name, value string) string {
	return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\nstringData: {password: " + value + "}\n"
}

// rejecting is a verifier that says no, as a controller without the key does.
type rejecting struct{ online bool }

func (r rejecting) Verify(context.Context, *ssv1.SealedSecret, []byte, map[string][]byte) error {
	return errors.New("the controller cannot decrypt it")
}
func (r rejecting) Online() bool { return r.online }

// accepting opens nothing itself: the receipt alone proves the match.
type accepting struct{}

func (accepting) Verify(context.Context, *ssv1.SealedSecret, []byte, map[string][]byte) error {
	return nil
}
func (accepting) Online() bool { return true }

func TestRunTree(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	other := testkeys.RSA(t, "3072")
	ctx := context.Background()
	tests := []struct {
		name    string
		files   map[string]string
		edit    func(o *Options, dir string)
		wantOps string
		errHas  string
		// after: files that must (true) or must not (false) exist.
		after map[string]bool
	}{
		{
			name:    "writes next to the source",
			files:   map[string]string{"a/db.yaml": secretYAML("db", planted)},
			wantOps: "prod/db write-sealedsecret",
			after:   map[string]bool{"a/db.sealedsecret.yaml": true, "a/db.yaml": true},
		},
		{
			name:  "the plan writes nothing",
			files: map[string]string{"a/db.yaml": secretYAML("db", planted)},
			edit: func(o *Options, _ string) {
				o.DryRun, o.Replace, o.Verify = true, true, Offline{Keys: []*rsa.PrivateKey{key}}
			},
			wantOps: "prod/db write-sealedsecret; prod/db remove-plaintext",
			after:   map[string]bool{"a/db.sealedsecret.yaml": false, "a/db.yaml": true},
		},
		{
			name:    "two Secrets of one name in one folder get their namespace in the file name",
			files:   map[string]string{"a/x.yaml": secretYAML("db", "one") + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: other}\nstringData: {p: q}\n"},
			wantOps: "prod/db write-sealedsecret; other/db write-sealedsecret",
			after:   map[string]bool{"a/prod.db.sealedsecret.yaml": true, "a/other.db.sealedsecret.yaml": true},
		},
		{
			name:    "into --out",
			files:   map[string]string{"a/db.yaml": secretYAML("db", planted)},
			edit:    func(o *Options, dir string) { o.Out = filepath.Join(dir, "out") },
			wantOps: "prod/db write-sealedsecret",
			after:   map[string]bool{"out/db.sealedsecret.yaml": true, "a/db.sealedsecret.yaml": false},
		},
		{
			name:   "a file of someone else's in the way",
			files:  map[string]string{"a/db.yaml": secretYAML("db", planted), "a/db.sealedsecret.yaml": "apiVersion: v1\nkind: ConfigMap\n"},
			errHas: "a/db.sealedsecret.yaml exists and is not one SealedSecret",
		},
		{
			name:   "a SealedSecret of another name in the way",
			files:  map[string]string{"a/db.yaml": secretYAML("db", planted), "a/db.sealedsecret.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x, namespace: prod}\nspec: {encryptedData: {a: AgA=}}\n"},
			errHas: "holds SealedSecret prod/x, not prod/db",
		},
		{
			name:  "a failed verification removes nothing",
			files: map[string]string{"a/db.yaml": secretYAML("db", planted), "k/kustomization.yaml": "secretGenerator:\n- name: g\n  files: [pw.txt]\n", "k/pw.txt": planted},
			edit: func(o *Options, _ string) {
				o.Replace, o.Verify = true, Offline{Keys: []*rsa.PrivateKey{other}}
			},
			errHas: "nothing removed: 2 SealedSecret(s)",
			after:  map[string]bool{"a/db.yaml": true, "k/pw.txt": true, "a/db.sealedsecret.yaml": true},
		},
		{
			name:  "online, a controller that says no stops it",
			files: map[string]string{"a/db.yaml": secretYAML("db", planted)},
			edit: func(o *Options, _ string) {
				o.Replace, o.Verify = true, rejecting{online: true}
			},
			errHas: "the controller cannot decrypt it",
			after:  map[string]bool{"a/db.yaml": true},
		},
		{
			name:  "offline with the key: plaintext gone",
			files: map[string]string{"a/db.yaml": secretYAML("db", planted), "k/kustomization.yaml": "secretGenerator:\n- name: g\n  files: [pw.txt]\n", "k/pw.txt": planted},
			edit: func(o *Options, _ string) {
				o.Replace, o.Verify = true, Offline{Keys: []*rsa.PrivateKey{key}}
			},
			wantOps: "prod/db write-sealedsecret; prod/g write-sealedsecret; prod/db remove-plaintext; prod/g remove-plaintext;  remove-plaintext",
			after:   map[string]bool{"a/db.yaml": false, "k/pw.txt": false, "k/g.sealedsecret.yaml": true},
		},
		{
			name:    "replace needs a verifier",
			files:   map[string]string{"a/db.yaml": secretYAML("db", planted)},
			edit:    func(o *Options, _ string) { o.Replace = true },
			errHas:  "--replace needs a way to open",
			wantOps: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, tr := tree(t, tt.files)
			o := opts(tr, &key.PublicKey)
			if tt.edit != nil {
				tt.edit(&o, dir)
			}
			rep, err := Run(ctx, o)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %q", err, tt.errHas)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if err != nil {
				for _, f := range leak.In(err.Error(), planted) {
					t.Errorf("error leaks the value (%s)", f.Name)
				}
			}
			for _, format := range []string{"table", "json"} {
				var buf bytes.Buffer
				if err := rep.Write(&buf, format); err != nil {
					t.Fatal(err)
				}
				for _, f := range leak.In(buf.String(), planted) {
					t.Errorf("the %s report leaks the value (%s)", format, f.Name)
				}
			}
			if tt.errHas == "" && ops(rep) != tt.wantOps {
				t.Errorf("ops = %q, want %q", ops(rep), tt.wantOps)
			}
			for f, want := range tt.after {
				if _, err := os.Stat(filepath.Join(dir, f)); (err == nil) != want {
					t.Errorf("%s exists = %v, want %v", f, err == nil, want)
				}
			}
		})
	}
}

// A rerun changes no byte; a changed value, scope or certificate reseals;
// online, a file not sealed in this run is resealed so its match can be
// proved.
func TestRerun(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	other := testkeys.RSA(t, "3072")
	ctx := context.Background()
	dir, tr := tree(t, map[string]string{"db.yaml": secretYAML("db", planted)})
	sealedFile := filepath.Join(dir, "db.sealedsecret.yaml")
	if _, err := Run(ctx, opts(tr, &key.PublicKey)); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		edit    func(o *Options)
		wantOp  migrate.Op
		differs string
	}{
		{"unchanged", nil, migrate.Unchanged, ""},
		{"another scope", func(o *Options) { o.Scope = sealing.NamespaceWide }, migrate.WriteSealedSecret, "the scope or the certificate changed"},
		{"back to strict", nil, migrate.WriteSealedSecret, ""},
		{"unchanged again", nil, migrate.Unchanged, ""},
		{"another certificate", func(o *Options) { o.Pub = &other.PublicKey }, migrate.WriteSealedSecret, "changed"},
		{"another hash key", func(o *Options) { o.Pub = &other.PublicKey; o.HMACKey = []byte("another key, another user") }, migrate.WriteSealedSecret, "another hash key"},
		{"online replace reseals", func(o *Options) {
			o.Pub = &other.PublicKey
			o.HMACKey = []byte("another key, another user")
			o.DryRun, o.Replace, o.Verify = true, true, accepting{}
		}, migrate.WriteSealedSecret, "resealed, so the match"},
	}
	for _, st := range steps {
		o := opts(tr, &key.PublicKey)
		if st.edit != nil {
			st.edit(&o)
		}
		before, _ := os.ReadFile(sealedFile)
		rep, err := Run(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		a := rep.Actions[0]
		if a.Op != st.wantOp || !strings.Contains(a.Differs, st.differs) {
			t.Errorf("%s: %s %q, want %s %q", st.name, a.Op, a.Differs, st.wantOp, st.differs)
		}
		after, _ := os.ReadFile(sealedFile)
		if (st.wantOp == migrate.Unchanged || o.DryRun) != (string(before) == string(after)) {
			t.Errorf("%s: file changed = %v", st.name, string(before) != string(after))
		}
	}
	// Online with a controller that opens everything: the receipt proves
	// the bytes, and the plaintext goes.
	o := opts(tr, &key.PublicKey)
	o.Replace, o.Verify = true, accepting{}
	if _, err := Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "db.yaml")); err == nil {
		t.Fatal("the plaintext is still there")
	}
}

// A cluster Secret is marked managed (and only once), skipped when a
// SealedSecret or ExternalSecret already controls it.
func TestAdopt(t *testing.T) {
	key := testkeys.RSA(t, "2048")
	ctx := context.Background()
	yes := true
	kube := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"}, Data: map[string][]byte{"p": []byte(planted)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "prod", OwnerReferences: []metav1.OwnerReference{{Kind: "ExternalSecret", Name: "es", Controller: &yes}}}, Data: map[string][]byte{"p": []byte("x")}},
	)
	secrets, _, err := source.Cluster(ctx, kube, source.ClusterOptions{Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Secrets: secrets, Pub: &key.PublicKey, HMACKey: []byte("k"), Out: t.TempDir(), Kube: kube, Adopt: true}
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(rep); got != "prod/db write-sealedsecret; prod/db adopt; prod/es unchanged" {
		t.Fatalf("ops = %q", got)
	}
	s, _ := kube.CoreV1().Secrets("prod").Get(ctx, "db", metav1.GetOptions{})
	if s.Annotations[ssv1.ManagedAnnotation] != "true" {
		t.Fatalf("not marked: %v", s.Annotations)
	}
	b, _ := os.ReadFile(filepath.Join(o.Out, "db.sealedsecret.yaml"))
	if strings.Contains(string(b), ssv1.ManagedAnnotation) {
		t.Error("the SealedSecret's template carries the managed mark")
	}
	rep, err = Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(rep); got != "prod/db unchanged; prod/es unchanged" {
		t.Fatalf("rerun ops = %q", got)
	}
	if _, err := Run(ctx, Options{Secrets: secrets, Pub: &key.PublicKey, HMACKey: []byte("k"), Out: o.Out, Kube: kube, Adopt: false, Apply: true}); err == nil {
		t.Fatal("--apply without --adopt was accepted")
	}
}
