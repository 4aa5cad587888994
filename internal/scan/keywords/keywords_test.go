package keywords

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	kws := []string{"he", "she", "his", "hers", "akia", "ghp_", "-----begin"}
	tests := []struct {
		in   string
		want []string // "kw@end"
	}{
		{"ushers", []string{"she@4", "he@4", "hers@6"}},
		{"USHERS", []string{"she@4", "he@4", "hers@6"}},
		{"key=AKIAXXXX", []string{"akia@8"}},
		{"x GHP_abc", []string{"ghp_@6"}},
		{"-----BEGIN RSA", []string{"-----begin@10"}},
		{"nothing to see", nil},
		{"", nil},
	}
	m := New(kws)
	for _, tt := range tests {
		var got []string
		m.Find([]byte(tt.in), func(id, end int) { got = append(got, fmt.Sprintf("%s@%d", m.Keyword(id), end)) })
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Find(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

// TestAgainstNaive cross-checks the automaton with strings.Index on text
// that mixes keywords, case and noise.
func TestAgainstNaive(t *testing.T) {
	kws := []string{"key", "token", "secret", "passw", "auth", "aa", "aab", "b"}
	text := strings.Repeat("xAaBkeYtokEnsecREtpassWordauthaaab ", 20)
	m := New(kws)
	got := map[string]int{}
	m.Find([]byte(text), func(id, _ int) { got[m.Keyword(id)]++ })
	low := bytes.ToLower([]byte(text))
	for _, kw := range kws {
		n := 0
		for i := 0; i+len(kw) <= len(low); i++ {
			if string(low[i:i+len(kw)]) == kw {
				n++
			}
		}
		if got[kw] != n {
			t.Errorf("%q: automaton %d hits, naive %d", kw, got[kw], n)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	kws := []string{"key", "token", "secret", "password", "auth", "akia", "ghp_", "xox", "-----begin", "eyj", "postgres", "mysql"}
	m := New(kws)
	text := bytes.Repeat([]byte("func (c *Client) Do(ctx context.Context, req *http.Request) error { return nil }\n"), 10000)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Find(text, func(int, int) {})
	}
}
