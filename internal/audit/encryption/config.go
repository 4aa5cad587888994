package encryption

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyward/keyward/internal/audit"
)

// Provider is one entry of the providers list that applies to Secrets.
type Provider struct {
	// Type is identity, aescbc, aesgcm, secretbox, kms (v1) or kmsv2.
	Type string
	// Keys are the key names, write key first; for kms the provider's name.
	Keys []string
	Line int
}

// Config is what an EncryptionConfiguration says about Secrets.
type Config struct {
	File string
	// Covered says whether an entry of resources applies to Secrets.
	Covered bool
	// Providers apply to Secrets, in order: the first writes, all read.
	Providers []Provider
}

// Writes is the provider and key the API server stores Secrets with
// (identity when Secrets are not covered).
func (c *Config) Writes() (provider, key string) {
	if c == nil || len(c.Providers) == 0 {
		return Identity, ""
	}
	p := c.Providers[0]
	if len(p.Keys) > 0 {
		key = p.Keys[0]
	}
	return p.Type, key
}

// Encrypts says whether the API server writes Secrets encrypted.
func (c *Config) Encrypts() bool {
	p, _ := c.Writes()
	return p != Identity
}

// Reads says whether the API server can read a value stored with provider
// and key.
func (c *Config) Reads(provider, key string) bool {
	for _, p := range c.Providers {
		if p.Type == provider && (provider == Identity || slices.Contains(p.Keys, key)) {
			return true
		}
	}
	return false
}

// The YAML as the API server reads it. Providers stay nodes so each keeps
// its line.
type fileConfig struct {
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Resources  []resourceEntry `yaml:"resources"`
}

type resourceEntry struct {
	Resources []string    `yaml:"resources"`
	Providers []yaml.Node `yaml:"providers"`
}

type keyEntry struct {
	Name   string `yaml:"name"`
	Secret string `yaml:"secret"`
	line   int
}

type providerBody struct {
	Keys       []yaml.Node `yaml:"keys"`
	Name       string      `yaml:"name"`
	APIVersion string      `yaml:"apiVersion"`
	Endpoint   string      `yaml:"endpoint"`
}

// LintFile reads and lints an EncryptionConfiguration file. Its mode is
// looked at too, since the file holds the keys.
func LintFile(path string) (*Config, []audit.Finding, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--encryption-config: %w", err)
	}
	cfg, findings, err := Lint(path, data)
	if err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 && hasLocalKeys(cfg) {
		findings = append(findings, finding("file-mode", audit.Medium, path, 0,
			fmt.Sprintf("the file holds encryption keys and is readable by others (mode %04o): make it 0600, owned by the API server's user", st.Mode().Perm())))
	}
	return cfg, findings, nil
}

func hasLocalKeys(c *Config) bool {
	for _, p := range c.Providers {
		if p.Type == AESCBC || p.Type == AESGCM || p.Type == Secretbox {
			return true
		}
	}
	return false
}

// Lint parses an EncryptionConfiguration (apiserver.config.k8s.io/v1, kind
// EncryptionConfiguration or the older EncryptionConfig) and returns what it
// says about Secrets and what is wrong with that. A file the API server
// would refuse is an error naming the field; no error or finding ever holds
// a key's secret.
func Lint(file string, data []byte) (*Config, []audit.Finding, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: not YAML: %w", file, scrubYAMLError(err))
	}
	var fc fileConfig
	if err := doc.Decode(&fc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, scrubYAMLError(err))
	}
	if fc.Kind != "EncryptionConfiguration" && fc.Kind != "EncryptionConfig" {
		return nil, nil, fmt.Errorf("%s: kind is %q, want EncryptionConfiguration", file, fc.Kind)
	}
	if fc.APIVersion != "apiserver.config.k8s.io/v1" && fc.APIVersion != "v1" {
		return nil, nil, fmt.Errorf("%s: apiVersion is %q, want apiserver.config.k8s.io/v1", file, fc.APIVersion)
	}
	cfg := &Config{File: file}
	var findings []audit.Finding
	var entry *resourceEntry
	for i := range fc.Resources {
		if coversSecrets(fc.Resources[i].Resources) {
			entry = &fc.Resources[i]
			break
		}
	}
	if entry == nil {
		findings = append(findings, finding("secrets-not-covered", audit.High, file, lineOf(&doc, "resources"),
			"no entry of resources lists secrets (or *. or *.*): the API server stores Secrets in plaintext"))
		return cfg, findings, nil
	}
	cfg.Covered = true
	for i := range entry.Providers {
		p, fs, err := parseProvider(file, &entry.Providers[i])
		if err != nil {
			return nil, nil, err
		}
		cfg.Providers = append(cfg.Providers, p)
		findings = append(findings, fs...)
	}
	if len(cfg.Providers) == 0 {
		return nil, nil, fmt.Errorf("%s: the resources entry for secrets has no providers", file)
	}
	first := cfg.Providers[0]
	switch first.Type {
	case Identity:
		findings = append(findings, finding("identity-first", audit.High, file, first.Line,
			"identity is the first provider for secrets: the API server writes Secrets in plaintext; put the encrypting provider first and keep identity last only to read old Secrets"))
	case AESCBC, AESGCM, Secretbox:
		// A file cannot tell a key's age, so one key is read as "no
		// rotation under way": the rotation procedure adds the new key
		// first and keeps the old one until every Secret is rewritten.
		// A finished rotation also leaves one key, hence low severity:
		// a prompt to check when the key last changed, not a defect.
		if len(first.Keys) == 1 {
			sev := audit.Low
			msg := first.Type + " has one key, so no rotation is staged: rotate it periodically (add the new key first, rewrite Secrets with 'keyward audit encryption --fix', then drop the old key)"
			if first.Type == AESGCM {
				// aesgcm's random nonces make key reuse unsafe after
				// about 200,000 writes (Kubernetes' own guidance).
				sev = audit.Medium
				msg = "aesgcm has one key: Kubernetes asks for a new aesgcm key every 200,000 writes; rotate (add the new key first, rewrite Secrets with 'keyward audit encryption --fix', then drop the old key)"
			}
			findings = append(findings, finding("no-rotation", sev, file, first.Line, msg))
		}
	}
	slices.SortStableFunc(findings, func(a, b audit.Finding) int { return a.Object.Line - b.Object.Line })
	return cfg, findings, nil
}

func coversSecrets(resources []string) bool {
	for _, r := range resources {
		if r == "secrets" || r == "*." || r == "*.*" {
			return true
		}
	}
	return false
}

func parseProvider(file string, n *yaml.Node) (Provider, []audit.Finding, error) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return Provider{}, nil, fmt.Errorf("%s:%d: a provider must be a map with exactly one provider type (aescbc, aesgcm, secretbox, kms, identity)", file, n.Line)
	}
	typ, bodyNode := n.Content[0].Value, n.Content[1]
	p := Provider{Type: typ, Line: n.Content[0].Line}
	var body providerBody
	if err := bodyNode.Decode(&body); err != nil {
		return p, nil, fmt.Errorf("%s:%d: provider %s: %w", file, p.Line, typ, scrubYAMLError(err))
	}
	var findings []audit.Finding
	switch typ {
	case Identity:
		return p, nil, nil
	case AESCBC, AESGCM, Secretbox:
		if len(body.Keys) == 0 {
			return p, nil, fmt.Errorf("%s:%d: provider %s: keys is empty", file, p.Line, typ)
		}
		seen := map[string]bool{}
		for i := range body.Keys {
			var k keyEntry
			if err := body.Keys[i].Decode(&k); err != nil {
				return p, nil, fmt.Errorf("%s:%d: provider %s: keys[%d]: %w", file, body.Keys[i].Line, typ, i, scrubYAMLError(err))
			}
			line := body.Keys[i].Line
			if k.Name == "" {
				return p, nil, fmt.Errorf("%s:%d: provider %s: keys[%d].name is empty", file, line, typ, i)
			}
			if seen[k.Name] {
				findings = append(findings, finding("duplicate-key-name", audit.Medium, file, line,
					fmt.Sprintf("provider %s: key name %q is used twice: a stored value names its key, so the two cannot be told apart", typ, k.Name)))
			}
			seen[k.Name] = true
			p.Keys = append(p.Keys, k.Name)
			if msg := keyProblem(typ, k.Secret); msg != "" {
				findings = append(findings, finding("bad-key", audit.High, file, line,
					fmt.Sprintf("provider %s: key %q: secret %s", typ, k.Name, msg)))
			}
		}
		switch typ {
		case AESCBC:
			findings = append(findings, finding("aescbc", audit.Info, file, p.Line,
				"aescbc is open to padding-oracle attacks and its key sits on the control-plane host: prefer kms apiVersion v2 (or secretbox)"))
		case AESGCM:
			findings = append(findings, finding("aesgcm", audit.Info, file, p.Line,
				"aesgcm needs a new key every 200,000 writes, and its key sits on the control-plane host: prefer kms apiVersion v2"))
		case Secretbox:
			findings = append(findings, finding("secretbox", audit.Info, file, p.Line,
				"secretbox is sound, but its key sits in this file on the control-plane host: kms apiVersion v2 keeps it in a key service"))
		}
	case "kms":
		if body.Name == "" {
			return p, nil, fmt.Errorf("%s:%d: provider kms: name is empty", file, p.Line)
		}
		p.Keys = []string{body.Name}
		if body.APIVersion == "v2" {
			p.Type = KMSv2
		} else {
			// apiVersion defaults to v1.
			p.Type = KMSv1
			findings = append(findings, finding("kms-v1", audit.Medium, file, p.Line,
				fmt.Sprintf("kms provider %q uses apiVersion v1, deprecated since Kubernetes 1.28 and off by default since 1.29: move to apiVersion v2 and rewrite Secrets", body.Name)))
		}
	default:
		return p, nil, fmt.Errorf("%s:%d: unknown provider type %q (want aescbc, aesgcm, secretbox, kms or identity)", file, p.Line, typ)
	}
	return p, findings, nil
}

// keyProblem says what is wrong with a key's secret, in words that hold
// nothing of it.
func keyProblem(typ, secret string) string {
	if secret == "" {
		return "is empty"
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(secret))
	if err != nil {
		return "is not valid base64"
	}
	switch n := len(raw); {
	case typ == Secretbox && n != 32:
		return fmt.Sprintf("is %d bytes, secretbox needs 32", n)
	case typ != Secretbox && n != 16 && n != 24 && n != 32:
		return fmt.Sprintf("is %d bytes, %s needs 16, 24 or 32", n, typ)
	}
	return ""
}

// scrubYAMLError keeps a decoding error's position but not its text, which
// can quote the offending value (a key's secret).
func scrubYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// Syntax errors name a line and what the parser expected, not
		// values.
		return err
	}
	msg := "a field has the wrong type"
	if len(te.Errors) > 0 {
		// "line 7: cannot unmarshal !!str `…` into …": keep the line.
		if line, _, found := strings.Cut(te.Errors[0], ":"); found {
			msg = line + ": " + msg
		}
	}
	return errors.New(msg)
}

func lineOf(doc *yaml.Node, key string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

func finding(rule string, sev audit.Severity, file string, line int, msg string) audit.Finding {
	return audit.Finding{Check: checkName, Rule: rule, Severity: sev, Object: audit.Object{Kind: "EncryptionConfiguration", File: file, Line: line}, Message: msg}
}
