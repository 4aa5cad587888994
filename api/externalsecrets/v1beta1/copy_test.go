package v1beta1

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the v1beta1 copies of ../v1/*_types.go")

const header = "// Code generated from ../v1 by TestSameSchemaAsV1 -update. DO NOT EDIT.\n\n"

// copyOf turns a v1 types file into its v1beta1 twin: same schema, other
// package, and not the storage version.
func copyOf(src []byte) []byte {
	var out bytes.Buffer
	out.WriteString(header)
	for _, line := range bytes.SplitAfter(src, []byte("\n")) {
		switch {
		case bytes.Equal(line, []byte("package v1\n")):
			out.WriteString("package v1beta1\n")
		case bytes.Contains(line, []byte("+kubebuilder:storageversion")):
		default:
			out.Write(line)
		}
	}
	return out.Bytes()
}

// TestSameSchemaAsV1 keeps v1beta1 identical to v1, which is what lets both
// versions be served without a conversion webhook.
func TestSameSchemaAsV1(t *testing.T) {
	sources, err := filepath.Glob("../v1/*_types.go")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no v1 types files found: %v", err)
	}
	want := map[string]bool{}
	for _, src := range sources {
		name := filepath.Base(src)
		want[name] = true
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		expected := copyOf(data)
		if *update {
			if err := os.WriteFile(name, expected, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(got, expected) {
			t.Errorf("v1beta1/%s is not the copy of v1/%s: run go test ./api/externalsecrets/v1beta1 -run TestSameSchemaAsV1 -update, then make generate", name, name)
		}
	}
	have, _ := filepath.Glob("*_types.go")
	for _, h := range have {
		if !want[h] {
			t.Errorf("v1beta1/%s has no v1 counterpart; the versions must match", h)
		}
	}
}
