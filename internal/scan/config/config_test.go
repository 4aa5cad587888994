package config

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
rules:
  - id: acme-token
    description: ACME API token
    regex: '\b(acme_[0-9a-f]{32})\b'
    secretGroup: 1
    keywords: [acme_]
  - id: jwt
    regex: 'eyJ[a-z]+'
    keywords: [eyj]
disabledRules: [generic-password]
allowlist:
  paths: ['^testdata/']
  secrets: ['^dummy']
  stopwords: [NotASecret]
`))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, r := range c.Rules {
		ids[r.ID]++
	}
	if ids["acme-token"] != 1 || ids["jwt"] != 1 || ids["github-token"] != 1 {
		t.Errorf("rules: %v", ids)
	}
	for _, r := range c.Rules {
		if r.ID == "jwt" && r.Validate != nil {
			t.Error("jwt was not replaced by the configured rule")
		}
	}
	if len(c.Disabled) != 1 || len(c.Paths) != 1 || len(c.Secrets) != 1 || c.Stopwords[0] != "notasecret" {
		t.Errorf("config: %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rules: [{id: x, regex: 'a'}]", "keyword"},
		{"rules: [{id: x, regex: '(', keywords: [a]}]", "missing closing"},
		{"rules: [{id: x, regex: 'a', secretGroup: 2, keywords: [a]}]", "secretGroup"},
		{"disabledRule: [x]", "not found"},
		{"allowlist: {paths: ['[']}", "allowlist.paths"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestBuiltinOff(t *testing.T) {
	c, err := Parse([]byte("useBuiltin: false\nrules: [{id: x, regex: 'x', keywords: [x]}]"))
	if err != nil || len(c.Rules) != 1 {
		t.Fatalf("rules %d, err %v", len(c.Rules), err)
	}
}
