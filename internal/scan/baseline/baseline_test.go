package baseline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTripAndMatching(t *testing.T) {
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	secret := "q8Vd2LmZ0xR7tNw4Kp9s"
	h := Hash(b.Salt, "generic-secret", "app.env", secret)
	b.Add("generic-secret", "app.env", h, 3)
	b.Add("generic-secret", "app.env", h, 7) // same content on another line: one entry
	path := filepath.Join(t.TempDir(), "baseline.json")
	if err := b.Write(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), secret) {
		t.Fatal("baseline file contains the secret")
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rule, path, secret string
		want               bool
	}{
		{"generic-secret", "app.env", secret, true},        // moved lines: still accepted
		{"generic-secret", "app.env", secret + "x", false}, // new secret on the old line
		{"generic-secret", "other.env", secret, false},     // same secret elsewhere
		{"generic-password", "app.env", secret, false},     // other rule
	}
	for _, tt := range tests {
		if c := got.Contains(tt.rule, tt.path, Hash(got.Salt, tt.rule, tt.path, tt.secret)); c != tt.want {
			t.Errorf("Contains(%s, %s, %s) = %v", tt.rule, tt.path, tt.secret, c)
		}
	}
	if len(got.Findings) != 1 {
		t.Errorf("%d entries, want 1", len(got.Findings))
	}
}

func TestHashIsSalted(t *testing.T) {
	if Hash("a", "r", "p", "s") == Hash("b", "r", "p", "s") {
		t.Fatal("salt does not change the hash")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"bad.json":     "{",
		"version.json": `{"version": 2, "salt": "x"}`,
		"nosalt.json":  `{"version": 1}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if b, err := LoadOrNew(filepath.Join(dir, "missing.json")); err != nil || b.Salt == "" {
		t.Errorf("LoadOrNew(missing) = %v, %v", b, err)
	}
}
