// Package rewrite reshapes values read from a store before they reach a
// Secret, as ExternalSecret dataFrom and PushSecret dataTo ask: key
// rewrites (regexp, transform, merge), key conversion and value decoding.
// Errors name fields and keys, never values.
package rewrite

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/specerr"
	"github.com/keyward/keyward/internal/template"
)

// Apply renames keys through each rule in order. field is where the rules
// sit in the object ("spec.dataFrom[0]"); errors name it.
func Apply(in map[string][]byte, rules []esv1.ExternalSecretRewrite, field string) (map[string][]byte, error) {
	out := in
	for i, rule := range rules {
		rf := fmt.Sprintf("%s.rewrite[%d]", field, i)
		switch {
		case rule.Regexp != nil:
			re, err := regexp.Compile(rule.Regexp.Source)
			if err != nil {
				return nil, specerr.New("%s.regexp.source: %v", rf, err)
			}
			out = RenameKeys(out, func(k string) string { return re.ReplaceAllString(k, rule.Regexp.Target) })
		case rule.Transform != nil:
			next := make(map[string][]byte, len(out))
			for k, v := range out {
				nk, err := template.Render(rf+".transform", rule.Transform.Template, map[string]string{"value": k}, template.MissingKeyError())
				if err != nil {
					// The error names rf.transform and holds no data.
					return nil, specerr.Mark(err)
				}
				next[string(nk)] = v
			}
			out = next
		case rule.Merge != nil:
			merged, err := merge(out, *rule.Merge, rf)
			if err != nil {
				return nil, err
			}
			out = merged
		}
	}
	return out, nil
}

// RenameKeys returns in with each key passed through f.
func RenameKeys(in map[string][]byte, f func(string) string) map[string][]byte {
	out := make(map[string][]byte, len(in))
	for k, v := range in {
		out[f(k)] = v
	}
	return out
}

// UnicodeKey replaces characters a Secret key may not hold with _Uxxxx_,
// as ESO does for conversionStrategy Unicode.
func UnicodeKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' || r == '_') {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "_U%04x_", r)
	}
	return b.String()
}

// merge joins the JSON objects held by the keys into one map: keys listed
// in priority are merged last, so they win a conflict. With strategy JSON
// the result is one key, into, holding the merged object.
func merge(in map[string][]byte, m esv1.ExternalSecretRewriteMerge, field string) (map[string][]byte, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rank := map[string]int{}
	for i, p := range m.Priority {
		if _, ok := in[p]; !ok && m.PriorityPolicy == "Strict" {
			return nil, fmt.Errorf("%s.merge.priority: key %q is not among the values", field, p)
		}
		rank[p] = i + 1
	}
	sort.SliceStable(keys, func(a, b int) bool { return rank[keys[a]] < rank[keys[b]] })
	merged := map[string]any{}
	from := map[string]string{}
	for _, k := range keys {
		var obj map[string]any
		if err := json.Unmarshal(in[k], &obj); err != nil {
			return nil, fmt.Errorf("%s.merge: the value of key %q is not a JSON object", field, k)
		}
		for ok, ov := range obj {
			if prev, dup := from[ok]; dup && m.ConflictPolicy == "Error" {
				return nil, fmt.Errorf("%s.merge: key %q is set by both %q and %q", field, ok, prev, k)
			}
			merged[ok], from[ok] = ov, k
		}
	}
	if m.Strategy == "JSON" {
		if m.Into == "" {
			return nil, specerr.New("%s.merge.into: required with strategy JSON", field)
		}
		b, err := json.Marshal(merged)
		if err != nil {
			return nil, fmt.Errorf("%s.merge: the merged object cannot be encoded as JSON", field)
		}
		return map[string][]byte{m.Into: b}, nil
	}
	out := make(map[string][]byte, len(merged))
	for k, v := range merged {
		if s, ok := v.(string); ok {
			out[k] = []byte(s)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s.merge: the value of key %q cannot be encoded as JSON", field, k)
		}
		out[k] = b
	}
	return out, nil
}
