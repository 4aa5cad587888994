package sealing

import (
	"errors"
	"strings"
	"testing"
)

const (
	secretDoc = "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\n"
	sealedDoc = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: ns}\nspec: {encryptedData: {k: AAAA}}\n"
	configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
)

// Each reader takes only its kind, and an input without one is an error
// callers can tell apart.
func TestReaders(t *testing.T) {
	read := map[string]func(string) (int, error){
		"ReadSecrets": func(in string) (int, error) {
			out, err := ReadSecrets(strings.NewReader(in))
			return len(out), err
		},
		"ReadSealedSecrets": func(in string) (int, error) {
			out, err := ReadSealedSecrets(strings.NewReader(in))
			return len(out), err
		},
		"ReadSealedSecretDocuments": func(in string) (int, error) {
			out, err := ReadSealedSecretDocuments(strings.NewReader(in))
			return len(out), err
		},
	}
	tests := []struct {
		reader, in string
		want       int
		err        error  // a sentinel, or nil
		errText    string // part of the message, or ""
	}{
		{"ReadSecrets", secretDoc + "---\n" + secretDoc, 2, nil, ""},
		{"ReadSecrets", "", 0, ErrNoSecret, ""},
		{"ReadSecrets", secretDoc + "---\n" + configMap, 0, nil, "expected a v1 Secret, found v1 ConfigMap"},
		{"ReadSealedSecrets", sealedDoc, 1, nil, ""},
		{"ReadSealedSecrets", "---\n", 0, ErrNoSealedSecret, ""},
		{"ReadSealedSecrets", secretDoc, 0, nil, "expected a bitnami.com/v1alpha1 SealedSecret"},
		{"ReadSealedSecretDocuments", sealedDoc + "---\n" + sealedDoc, 2, nil, ""},
		{"ReadSealedSecretDocuments", "", 0, ErrNoSealedSecret, ""},
		{"ReadSealedSecretDocuments", configMap, 0, nil, "expected a SealedSecret"},
	}
	for _, tt := range tests {
		n, err := read[tt.reader](tt.in)
		switch {
		case tt.err != nil && !errors.Is(err, tt.err):
			t.Errorf("%s(%q): error %v, want %v", tt.reader, tt.in, err, tt.err)
		case tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
			t.Errorf("%s(%q): error %v, want one saying %q", tt.reader, tt.in, err, tt.errText)
		case tt.err == nil && tt.errText == "" && (err != nil || n != tt.want):
			t.Errorf("%s(%q): %d objects, %v; want %d", tt.reader, tt.in, n, err, tt.want)
		}
	}
}

func TestParseSealedSecret(t *testing.T) {
	ss, err := ParseSealedSecret([]byte(sealedDoc))
	if err != nil || ss.Name != "a" || ss.Spec.EncryptedData["k"] != "AAAA" {
		t.Fatalf("got %v, %v", ss, err)
	}
	if _, err := ParseSealedSecret([]byte(sealedDoc + "---\n" + sealedDoc)); err == nil || !strings.Contains(err.Error(), "expected one SealedSecret, found 2 documents") {
		t.Fatalf("two documents: %v", err)
	}
	if _, err := ParseSealedSecret([]byte(secretDoc)); err == nil {
		t.Fatal("a Secret was taken for a SealedSecret")
	}
}
