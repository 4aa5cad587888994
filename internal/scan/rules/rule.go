// Package rules holds the detection rules: the built-in table, the offline
// validators (checksums, structure) and the filters that turn a regex match
// into a credible secret (entropy, placeholders, templates, hashes, UUIDs).
// It knows nothing about files, git or output.
package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// Rule describes one kind of secret.
type Rule struct {
	ID          string
	Description string
	// Keywords gate the rule: it runs only on text around an occurrence of
	// one of them (ASCII case ignored). A rule needs at least one.
	Keywords []string
	// Regex finds candidates in the window around a keyword hit.
	// SecretGroup picks the capture that is the secret (0: whole match).
	Regex       *regexp.Regexp
	SecretGroup int
	// Detect parses rather than matches (the assignment rules). It gets the
	// window and the hit offset in it; with a Regex too, both run.
	Detect func(w Window) []Candidate
	// Entropy is the minimum Shannon entropy (bits per byte) of the secret.
	Entropy float64
	// Validate is an offline check (checksum, structure); false drops the
	// candidate and, for a specific rule, still hides generic ones under it.
	Validate func(secret string) bool
	// Public is how many leading bytes of a secret are a public type marker
	// (ghp_, AKIA, sk_live_) that redaction may keep.
	Public int
	// Multiline rules see up to MaxSpan bytes after the hit instead of the line.
	Multiline bool
	MaxSpan   int
	// Generic marks catch-all rules: they yield to any specific rule whose
	// match covers the same bytes, and never report inside quiet ranges.
	Generic bool
	// Yield marks rules that find where credentials are kept (an
	// Authorization header, a URL, an .npmrc entry) rather than what they
	// are: they too yield to a specific rule matching the same bytes, so a
	// GitHub token in a header is reported as a GitHub token.
	Yield bool
	// Placeholders false turns off placeholder rejection (for formats where
	// the check would hurt, e.g. a private key body).
	NoPlaceholderCheck bool
	// Paths, when set, limits the rule to matching paths (slash-separated).
	Paths *regexp.Regexp
	// Allow drops secrets matching any of these.
	Allow []*regexp.Regexp
}

// Window is the text a rule examines: a line (or a span, for multi-line
// rules) around a keyword hit.
type Window struct {
	Text []byte
	Hit  int    // offset in Text just past the keyword
	Path string // file path, for format-aware detectors
	// Next is the text after Text's line break (a few lines, for block
	// syntaxes); offsets into it count from len(Text)+1.
	Next []byte
	// Context is the text around the window, where a vendor's name makes a
	// value without structure credible.
	Context []byte
}

// Candidate is a secret found in a window, offsets relative to the window.
type Candidate struct {
	Start, End int // of the secret
	Secret     string
	// Rejected candidates are not findings, but a specific rule's rejected
	// candidate still claims its bytes against generic rules.
	Rejected bool
}

// Set is a compiled collection of rules.
type Set struct {
	Rules []*Rule
}

// NewSet checks rules and returns a Set. Rule ids must be unique.
func NewSet(rs []*Rule) (*Set, error) {
	seen := map[string]bool{}
	for _, r := range rs {
		if r.ID == "" {
			return nil, fmt.Errorf("rule without id")
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("rule %s: duplicate id", r.ID)
		}
		seen[r.ID] = true
		if len(r.Keywords) == 0 {
			return nil, fmt.Errorf("rule %s: needs at least one keyword", r.ID)
		}
		if r.Regex == nil && r.Detect == nil {
			return nil, fmt.Errorf("rule %s: needs a regex", r.ID)
		}
		if r.Regex != nil && r.SecretGroup > r.Regex.NumSubexp() {
			return nil, fmt.Errorf("rule %s: secretGroup %d but regex has %d groups", r.ID, r.SecretGroup, r.Regex.NumSubexp())
		}
		for i, k := range r.Keywords {
			r.Keywords[i] = strings.ToLower(k)
		}
	}
	return &Set{Rules: rs}, nil
}

// Find runs the rule on one window and returns its candidates, filtered.
func (r *Rule) Find(w Window) []Candidate {
	var cs []Candidate
	if r.Detect != nil {
		cs = r.Detect(w)
	}
	if r.Regex != nil {
		for _, m := range r.Regex.FindAllSubmatchIndex(w.Text, -1) {
			g := r.SecretGroup
			if m[2*g] < 0 {
				continue
			}
			s, e := m[2*g], m[2*g+1]
			cs = append(cs, Candidate{Start: s, End: e, Secret: string(w.Text[s:e])})
		}
	}
	for i := range cs {
		if !cs[i].Rejected && !r.accept(cs[i].Secret) {
			cs[i].Rejected = true
		}
	}
	return cs
}

func (r *Rule) accept(secret string) bool {
	if secret == "" {
		return false
	}
	if r.Entropy > 0 && Entropy(secret) < r.Entropy {
		return false
	}
	if IsKnownExample(secret) {
		return false
	}
	if !r.NoPlaceholderCheck && IsPlaceholder(secret) {
		return false
	}
	if r.Validate != nil && !r.Validate(secret) {
		return false
	}
	for _, a := range r.Allow {
		if a.MatchString(secret) {
			return false
		}
	}
	return true
}
