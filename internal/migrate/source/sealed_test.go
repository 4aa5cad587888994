package source

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/keyward/keyward/internal/sealing"
)

func TestSealed(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, docs ...*corev1.Secret) string {
		var parts []string
		for _, s := range docs {
			ss, err := sealing.Seal(s, &key.PublicKey, sealing.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ss.APIVersion, ss.Kind = "bitnami.com/v1alpha1", "SealedSecret"
			b, err := yaml.Marshal(ss)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, string(b))
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(parts, "---\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sec := func(ns, name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{"postgres-db-uri": "PLANTED"}}
	}
	both := write("both.yaml", sec("production", "backend-secrets"), sec("production", "api"))
	dup := write("dup.yaml", sec("production", "backend-secrets"))

	for _, tc := range []struct {
		name    string
		files   []string
		keys    []*rsa.PrivateKey
		want    []string
		wantErr string
	}{
		{name: "two documents", files: []string{both}, keys: []*rsa.PrivateKey{other, key}, want: []string{"production/backend-secrets", "production/api"}},
		{name: "wrong key", files: []string{both}, keys: []*rsa.PrivateKey{other}, wantErr: "both.yaml: document 1: SealedSecret production/backend-secrets"},
		{name: "no key", files: []string{both}, wantErr: "no private key"},
		{name: "the same Secret twice", files: []string{both, dup}, keys: []*rsa.PrivateKey{key}, wantErr: "also in"},
		{name: "missing file", files: []string{filepath.Join(dir, "nope.yaml")}, keys: []*rsa.PrivateKey{key}, wantErr: "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sealed(tc.files, tc.keys, "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "PLANTED") {
					t.Fatal("the error holds a value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, s := range got {
				keys = append(keys, s.Key())
				if s.Origin.Kind != FromSealed || s.Secret.OwnerReferences != nil || string(s.Secret.Data["postgres-db-uri"]) != "PLANTED" {
					t.Errorf("%s: origin %v, owners %v, or data not opened", s.Key(), s.Origin, s.Secret.OwnerReferences)
				}
			}
			if strings.Join(keys, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Secrets = %v, want %v", keys, tc.want)
			}
		})
	}
}
