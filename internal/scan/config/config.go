// Package config reads the scan configuration file (.keyward-scan.yaml):
// extra rules, disabled rules and allowlists. See docs/scan.md.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyward/keyward/internal/scan/rules"
)

// DefaultName is looked up in the scanned directory or repository root.
const DefaultName = ".keyward-scan.yaml"

// File is the configuration file's schema.
type File struct {
	// Rules are added to the built-in ones; a rule with a built-in id
	// replaces it.
	Rules []Rule `yaml:"rules"`
	// DisabledRules turns rules off by id (built-in or Kubernetes ones).
	DisabledRules []string `yaml:"disabledRules"`
	// UseBuiltin false starts from no built-in rules (default true).
	UseBuiltin *bool     `yaml:"useBuiltin"`
	Allowlist  Allowlist `yaml:"allowlist"`
}

// Rule is a user-defined rule.
type Rule struct {
	ID          string   `yaml:"id"`
	Description string   `yaml:"description"`
	Regex       string   `yaml:"regex"`
	SecretGroup int      `yaml:"secretGroup"`
	Keywords    []string `yaml:"keywords"`
	Entropy     float64  `yaml:"entropy"`
	Paths       string   `yaml:"paths"`
	Allow       []string `yaml:"allow"`
}

// Allowlist entries drop findings.
type Allowlist struct {
	Paths     []string `yaml:"paths"`     // regexes on the slash-separated path
	Secrets   []string `yaml:"secrets"`   // regexes on the secret value
	Stopwords []string `yaml:"stopwords"` // substrings of the secret (case-insensitive)
}

// Config is a loaded, compiled configuration.
type Config struct {
	Rules     []*rules.Rule
	Disabled  []string
	Paths     []*regexp.Regexp
	Secrets   []*regexp.Regexp
	Stopwords []string
}

// Load reads and compiles a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Default is the built-in configuration.
func Default() *Config { return &Config{Rules: rules.Builtin()} }

// Parse compiles a configuration; unknown fields are errors so typos do
// not silently turn a rule off.
func Parse(data []byte) (*Config, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	c := &Config{Disabled: f.DisabledRules}
	if f.UseBuiltin == nil || *f.UseBuiltin {
		c.Rules = rules.Builtin()
	}
	for i, r := range f.Rules {
		cr, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		replaced := false
		for j, old := range c.Rules {
			if old.ID == cr.ID {
				c.Rules[j], replaced = cr, true
			}
		}
		if !replaced {
			c.Rules = append(c.Rules, cr)
		}
	}
	var err error
	if c.Paths, err = compileAll("allowlist.paths", f.Allowlist.Paths); err != nil {
		return nil, err
	}
	if c.Secrets, err = compileAll("allowlist.secrets", f.Allowlist.Secrets); err != nil {
		return nil, err
	}
	for _, w := range f.Allowlist.Stopwords {
		c.Stopwords = append(c.Stopwords, strings.ToLower(w))
	}
	return c, nil
}

func compileRule(r Rule) (*rules.Rule, error) {
	if r.ID == "" {
		return nil, fmt.Errorf("id is required")
	}
	if r.Regex == "" {
		return nil, fmt.Errorf("rule %s: regex is required", r.ID)
	}
	if len(r.Keywords) == 0 {
		return nil, fmt.Errorf("rule %s: at least one keyword is required (it gates the regex)", r.ID)
	}
	re, err := regexp.Compile(r.Regex)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	if r.SecretGroup > re.NumSubexp() {
		return nil, fmt.Errorf("rule %s: secretGroup %d but the regex has %d groups", r.ID, r.SecretGroup, re.NumSubexp())
	}
	out := &rules.Rule{ID: r.ID, Description: r.Description, Regex: re, SecretGroup: r.SecretGroup,
		Keywords: r.Keywords, Entropy: r.Entropy, Multiline: strings.Contains(r.Regex, `\n`) || strings.Contains(r.Regex, "(?s"), MaxSpan: 4096}
	if out.Description == "" {
		out.Description = r.ID
	}
	if r.Paths != "" {
		if out.Paths, err = regexp.Compile(r.Paths); err != nil {
			return nil, fmt.Errorf("rule %s paths: %w", r.ID, err)
		}
	}
	if out.Allow, err = compileAll("rule "+r.ID+" allow", r.Allow); err != nil {
		return nil, err
	}
	return out, nil
}

func compileAll(what string, ss []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range ss {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, re)
	}
	return out, nil
}
