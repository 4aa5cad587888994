// Package kube reads Kubernetes manifests and kubeconfig files structurally,
// so plaintext Secrets are found wherever `kind` sits in the document (YAML
// or JSON, Lists, multi-document files, Helm templates, kustomize generators),
// and encrypted or referenced ones (SealedSecret, ExternalSecret, SOPS) are
// recognised and kept quiet.
package kube

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyward/keyward/internal/scan/rules"
)

// Rule ids reported by this package.
const (
	RuleSecret     = "kubernetes-secret"
	RuleKubeconfig = "kubeconfig-credential"
	RuleKustomize  = "kustomize-secret-literal"
)

// Rules describes the ids above for reports and configuration.
var Rules = map[string]string{
	RuleSecret:     "Kubernetes Secret manifest with plaintext data",
	RuleKubeconfig: "Credential in a kubeconfig",
	RuleKustomize:  "Literal in a kustomize secretGenerator",
}

// Finding is one secret value, located by 1-based line within the text.
type Finding struct {
	Rule   string
	Line   int
	Key    string
	Secret string
}

// Range is an inclusive range of 1-based lines.
type Range struct{ From, To int }

// Result of analysing a file.
type Result struct {
	Findings []Finding
	// Quiet ranges hold encrypted material (SealedSecret, SOPS) where
	// generic high-entropy matches are ciphertext, not leaks.
	Quiet []Range
}

// relevantKind finds the kinds Analyze acts on, in YAML or JSON spelling.
var relevantKind = regexp.MustCompile(`kind["']?\s*:\s*["']?(?:Sealed)?Secret["'\s,}]|kind["']?\s*:\s*["']?Config["'\s,}]`)

// Relevant is a cheap test whether Analyze can find anything in text, so
// large JSON and YAML files (API specs, fixtures) are not parsed for nothing.
func Relevant(text []byte) bool {
	return relevantKind.Match(text) ||
		containsFold(text, "secretgenerator") ||
		containsFold(text, "users") && containsFold(text, "clusters") ||
		bytes.Contains(text, []byte("sops:"))
}

// containsFold reports whether b contains the lowercase ASCII s in any case,
// without allocating a lowered copy of b.
func containsFold(b []byte, s string) bool {
	up := s[0] - 'a' + 'A'
	for i := 0; i+len(s) <= len(b); i++ {
		j := bytes.IndexAny(b[i:len(b)-len(s)+1], string([]byte{s[0], up}))
		if j < 0 {
			return false
		}
		i += j
		if bytes.EqualFold(b[i:i+len(s)], []byte(s)) {
			return true
		}
	}
	return false
}

const templated = "KEYWARD_TEMPLATED"

var (
	actionLine = regexp.MustCompile(`^\s*\{\{.*\}\}\s*$`)
	action     = regexp.MustCompile(`\{\{.*?\}\}`)
	kindLine   = regexp.MustCompile(`(?m)^\s*["']?kind["']?\s*:\s*["']?Secret["']?\s*,?\s*$`)
)

// Analyze finds secrets in every document of a YAML or JSON file.
func Analyze(text []byte, path string) Result {
	var res Result
	isKustomization := strings.HasSuffix(path, "kustomization.yaml") || strings.HasSuffix(path, "kustomization.yml") || strings.HasSuffix(path, "Kustomization")
	forEachDocument(text, func(doc []byte, first int) {
		if len(bytes.TrimSpace(doc)) == 0 {
			return
		}
		// JSON (API specs, kubectl -o json) is screened with encoding/json,
		// many times faster than the YAML parser, which then only runs on
		// documents that hold something to report.
		if t := bytes.TrimSpace(doc); t[0] == '{' && !jsonInteresting(t) {
			return
		}
		var root yaml.Node
		src := doc
		if bytes.Contains(doc, []byte("{{")) {
			src = sanitizeTemplate(doc)
		}
		if err := yaml.Unmarshal(src, &root); err != nil || len(root.Content) == 0 {
			res.Findings = append(res.Findings, fallback(src, first)...)
			return
		}
		a := analyzer{first: first, kustomization: isKustomization}
		a.object(root.Content[0], true)
		if a.quiet {
			res.Quiet = append(res.Quiet, Range{first, first + bytes.Count(doc, []byte("\n"))})
		}
		res.Findings = append(res.Findings, a.findings...)
	})
	return res
}

// jsonShape holds the only fields the JSON screen needs; encoding/json
// skips the rest without building it, so a 2 MB API spec costs a scan, not
// a tree.
type jsonShape struct {
	Kind  string `json:"kind"`
	Items []struct {
		Kind string `json:"kind"`
	} `json:"items"`
	Sops  json.RawMessage `json:"sops"`
	Users json.RawMessage `json:"users"`
}

// jsonInteresting mirrors analyzer.object: does the document, or an item
// of a List, need a closer look?
func jsonInteresting(doc []byte) bool {
	var v jsonShape
	if err := json.Unmarshal(doc, &v); err != nil {
		return true // not plain JSON after all: let the YAML parser decide
	}
	interesting := func(kind string) bool {
		return kind == "Secret" || kind == "SealedSecret" || kind == "Config" || kind == "Kustomization"
	}
	if interesting(v.Kind) || v.Sops != nil || v.Users != nil {
		return true
	}
	if strings.HasSuffix(v.Kind, "List") {
		for _, it := range v.Items {
			if interesting(it.Kind) {
				return true
			}
		}
	}
	return false
}

// forEachDocument splits a multi-document YAML stream at `---` and `...`
// lines, passing each document and the line number of its first line.
func forEachDocument(text []byte, fn func(doc []byte, firstLine int)) {
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(text); {
		end := bytes.IndexByte(text[i:], '\n')
		next := len(text)
		if end >= 0 {
			next = i + end + 1
		}
		l := bytes.TrimRight(text[i:next], "\r\n")
		if bytes.Equal(l, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) || bytes.Equal(l, []byte("...")) {
			fn(text[start:i], startLine)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	fn(text[start:], startLine)
}

// sanitizeTemplate makes a Helm template parseable: lines that are only a
// template action become blank (keeping line numbers), inline actions become
// a marker that is never a secret.
func sanitizeTemplate(doc []byte) []byte {
	lines := bytes.Split(doc, []byte("\n"))
	for i, l := range lines {
		if actionLine.Match(l) && !bytes.Contains(l, []byte(":")) || actionLine.Match(l) && bytes.HasPrefix(bytes.TrimSpace(l), []byte("{{")) {
			lines[i] = nil
			continue
		}
		lines[i] = action.ReplaceAll(l, []byte(templated))
	}
	return bytes.Join(lines, []byte("\n"))
}

type analyzer struct {
	first         int
	kustomization bool
	findings      []Finding
	quiet         bool
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func (a *analyzer) line(n *yaml.Node) int { return a.first + n.Line - 1 }

func (a *analyzer) object(n *yaml.Node, top bool) {
	if n.Kind == yaml.AliasNode || n.Kind != yaml.MappingNode {
		return
	}
	kind := scalar(get(n, "kind"))
	if top && get(n, "sops") != nil && get(get(n, "sops"), "mac") != nil {
		a.quiet = true
		return
	}
	switch {
	case strings.HasSuffix(kind, "List"):
		if items := get(n, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				a.object(it, false)
			}
		}
	case kind == "Secret":
		api := scalar(get(n, "apiVersion"))
		if api != "" && api != "v1" {
			return
		}
		// This analysis speaks for every value in the Secret; generic
		// rules would only repeat it or flag what it judged a placeholder.
		a.quiet = true
		a.secretData(get(n, "data"), true)
		a.secretData(get(n, "stringData"), false)
	case kind == "SealedSecret":
		a.quiet = true
	case kind == "Config" || kind == "" && get(n, "users") != nil && get(n, "clusters") != nil:
		a.kubeconfig(n)
	case kind == "Kustomization" || kind == "" && a.kustomization:
		a.kustomize(n)
	}
}

func (a *analyzer) secretData(m *yaml.Node, encoded bool) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || notSecretKeys[strings.ToLower(k.Value)] {
			continue
		}
		val := strings.TrimSpace(v.Value)
		if !credible(val) || rules.IsTrivialPassword(val) {
			continue
		}
		if encoded {
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(val), ""))
			// A value that decodes to a placeholder ("changeme") is one.
			if d := strings.TrimSpace(string(dec)); err == nil && len(d) < 100 && (!credible(d) || rules.IsTrivialPassword(d)) {
				continue
			}
		}
		a.findings = append(a.findings, Finding{Rule: RuleSecret, Line: a.line(v), Key: k.Value, Secret: v.Value})
	}
}

// notSecretKeys name the parts of a credential that are not secret: a
// Secret holding only a user name leaks nothing.
var notSecretKeys = map[string]bool{
	"username": true, "user": true, "user-name": true, "user_name": true, "login": true,
}

func credible(v string) bool {
	return v != "" && !strings.Contains(v, templated) && !rules.IsTemplated(v) && !rules.IsPlaceholder(v)
}

var kubeconfigSecrets = []string{"token", "password", "client-key-data", "client-key"}

func (a *analyzer) kubeconfig(n *yaml.Node) {
	users := get(n, "users")
	if users == nil || users.Kind != yaml.SequenceNode {
		return
	}
	for _, u := range users.Content {
		user := get(u, "user")
		for _, key := range kubeconfigSecrets {
			v := get(user, key)
			if key == "client-key" { // a file path, not key material
				continue
			}
			// Fixture kubeconfigs say "token: abc"; real credentials are longer.
			if s := scalar(v); credible(s) && len(s) >= 8 {
				a.findings = append(a.findings, Finding{Rule: RuleKubeconfig, Line: a.line(v), Key: key, Secret: s})
			}
		}
		cfg := get(get(user, "auth-provider"), "config")
		for _, key := range []string{"client-secret", "id-token", "refresh-token", "access-token"} {
			v := get(cfg, key)
			if s := scalar(v); credible(s) {
				a.findings = append(a.findings, Finding{Rule: RuleKubeconfig, Line: a.line(v), Key: key, Secret: s})
			}
		}
	}
}

func (a *analyzer) kustomize(n *yaml.Node) {
	gens := get(n, "secretGenerator")
	if gens == nil || gens.Kind != yaml.SequenceNode {
		return
	}
	for _, g := range gens.Content {
		lits := get(g, "literals")
		if lits == nil || lits.Kind != yaml.SequenceNode {
			continue
		}
		for _, l := range lits.Content {
			k, v, ok := strings.Cut(scalar(l), "=")
			if ok && credible(strings.TrimSpace(v)) {
				a.findings = append(a.findings, Finding{Rule: RuleKustomize, Line: a.line(l), Key: k, Secret: v})
			}
		}
	}
}

// fallback handles documents the YAML parser rejects (templates with
// control flow it cannot see through): a `kind: Secret` line and indented
// `key: value` entries under a top-level data or stringData.
func fallback(doc []byte, first int) []Finding {
	if !kindLine.Match(doc) {
		return nil
	}
	var out []Finding
	in, encoded := false, false
	for i, l := range strings.Split(string(doc), "\n") {
		t := strings.TrimRight(l, "\r")
		if t == "" || strings.HasPrefix(strings.TrimSpace(t), "#") {
			continue
		}
		if t[0] != ' ' && t[0] != '\t' {
			in = strings.HasPrefix(t, "data:") || strings.HasPrefix(t, "stringData:")
			encoded = strings.HasPrefix(t, "data:")
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(t), ":")
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || !credible(v) || v == "|" || v == ">" {
			continue
		}
		if encoded {
			if dec, err := base64.StdEncoding.DecodeString(v); err != nil || !credible(string(dec)) {
				continue
			}
		}
		out = append(out, Finding{Rule: RuleSecret, Line: first + i, Key: k, Secret: v})
	}
	return out
}
