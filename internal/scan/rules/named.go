package rules

import (
	"bytes"
	"regexp"
	"strings"
)

// Named describes a credential with no structure of its own: a Datadog API
// key is 32 hex digits, like an MD5; a Twilio auth token too. Only the name
// it is assigned to and the vendor named nearby tell it apart.
type Named struct {
	// Names are how the credential's name ends, words run together and
	// lowercase: "apikey" matches DD_API_KEY, apiKey and DD-API-KEY.
	Names []string
	// Vendor words make the name specific when one of them is a word of
	// the name (dd in DD_API_KEY), or appears in the file's path or in the
	// text around (provider "datadog" { ... }).
	Vendor []string
	// NameOnly are vendor words too short to look for in paths and text.
	NameOnly []string
	// Value is what the whole value must match.
	Value *regexp.Regexp
}

// Detect finds the assignment at the window's keyword and returns its value
// if name, vendor and value all fit.
func (n Named) Detect(w Window) []Candidate {
	// Most names and values fail the cheap tests; words come last.
	a, ok := parseAssignment(w, n.mayEndWith, nil)
	if !ok || !n.Value.Match(a.value) {
		return nil
	}
	if words := splitWords(string(a.name)); !endsWith(words, n.Names) || !n.vendorNear(words, w) {
		return nil
	}
	return []Candidate{{Start: a.vs, End: a.ve, Secret: string(a.value)}}
}

// mayEndWith is a quick test before splitting a name into words: its
// letters, separators skipped, end with one of Names.
func (n Named) mayEndWith(name []byte) bool {
	for _, want := range n.Names {
		i, j := len(name)-1, len(want)-1
		for ; i >= 0 && j >= 0; i-- {
			c := name[i]
			if c == '_' || c == '-' || c == '.' {
				continue
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != want[j] {
				break
			}
			j--
		}
		if j < 0 {
			return true
		}
	}
	return false
}

// endsWith reports whether the last words of a name, run together, are one
// of names: "auth token" ends with "authtoken", "oauth token" does not.
func endsWith(words, names []string) bool {
	suffix := ""
	for i := len(words) - 1; i >= 0 && len(suffix) < 32; i-- {
		suffix = words[i] + suffix
		for _, n := range names {
			if suffix == n {
				return true
			}
		}
	}
	return false
}

func (n Named) vendorNear(words []string, w Window) bool {
	for _, word := range words {
		for _, v := range n.Vendor {
			if word == v || strings.HasPrefix(word, v) {
				return true
			}
		}
		for _, v := range n.NameOnly {
			if word == v {
				return true
			}
		}
	}
	p := strings.ToLower(w.Path)
	for _, v := range n.Vendor {
		if strings.Contains(p, v) || containsFold(w.Context, v) {
			return true
		}
	}
	return false
}

// containsFold is bytes.Contains ignoring ASCII case; word is lowercase.
func containsFold(b []byte, word string) bool {
	if word == "" {
		return true
	}
	wb := []byte(word)
	first, upper := word[0], word[0]
	if 'a' <= upper && upper <= 'z' {
		upper -= 'a' - 'A'
	}
	for i := 0; i+len(word) <= len(b); i++ {
		if c := b[i]; c != first && c != upper {
			if j := bytes.IndexAny(b[i+1:], string([]byte{first, upper})); j >= 0 {
				i += j
				continue
			}
			return false
		}
		if bytes.EqualFold(b[i:i+len(wb)], wb) {
			return true
		}
	}
	return false
}
