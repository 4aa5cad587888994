package scan_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/scan"
	"github.com/keyward/keyward/internal/scan/corpus"
	"github.com/keyward/keyward/internal/scan/rules"
)

func newScanner(t testing.TB) *scan.Scanner {
	t.Helper()
	e, err := scan.NewEngine(rules.Builtin(), nil, scan.Allowlist{})
	if err != nil {
		t.Fatal(err)
	}
	return scan.New(scan.ScannerOptions{Engine: e})
}

// scanCorpus runs the built-in rules over a corpus directory.
func scanCorpus(t *testing.T, dir string) []corpus.Finding {
	t.Helper()
	var fs []corpus.Finding
	err := newScanner(t).Files(context.Background(), []scan.Input{{Path: dir}}, nil, func(f scan.Finding) {
		rel, ok := corpus.Relative(dir, f.File)
		if !ok {
			t.Errorf("finding outside the corpus: %s", f.File)
			return
		}
		fs = append(fs, corpus.Finding{Loc: corpus.Loc{File: rel, Line: f.StartLine}, Rule: f.Rule})
	})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestCorpus scores the scanner on each labelled corpus: fake credentials
// in realistic files, each label naming the rule that must fire at its
// line, and hard negatives (placeholders, examples, hashes, UUIDs,
// encrypted values). Every miss, every finding under another rule and
// every finding at an unlabelled line fails the test.
func TestCorpus(t *testing.T) {
	for _, set := range corpus.Sets {
		t.Run(set.Name, func(t *testing.T) {
			labels, err := corpus.Load(set.Labels)
			if err != nil {
				t.Fatal(err)
			}
			r := corpus.Score(labels, scanCorpus(t, set.Dir), true)
			for _, l := range r.Missed {
				t.Errorf("missed %s: want %s", l, labels.Want[l])
			}
			for _, f := range r.Wrong {
				t.Errorf("wrong rule at %s: %s, want %s", f.Loc, f.Rule, labels.Want[f.Loc])
			}
			for _, f := range r.False {
				t.Errorf("false positive at %s: %s", f.Loc, f.Rule)
			}
			t.Logf("%s: %d credentials, %d hard negatives; found %d, %d wrong rule, %d false (%d at hard negatives): precision %.3f recall %.3f",
				set.Name, r.Labelled, r.Negatives, r.Found, len(r.Wrong), len(r.False), r.FalseHard, r.Precision(), r.Recall())
		})
	}
}

// TestCorpusLabelsFiles keeps labels pointing at lines that exist, so a
// moved line cannot turn into a silent negative.
func TestCorpusLabelsFiles(t *testing.T) {
	for _, set := range corpus.Sets {
		labels, err := corpus.Load(set.Labels)
		if err != nil {
			t.Fatal(err)
		}
		check := func(l corpus.Loc) {
			lines := strings.Split(string(mustRead(t, filepath.Join(set.Dir, filepath.FromSlash(l.File)))), "\n")
			if l.Line > len(lines) || strings.TrimSpace(lines[l.Line-1]) == "" {
				t.Errorf("%s: label %s points at no text", set.Name, l)
			}
		}
		for l := range labels.Want {
			check(l)
		}
		for l := range labels.Negative {
			check(l)
		}
	}
}

// TestVendorCorpusHardNegatives keeps the vendor corpus at least as hard on
// false positives as on recall.
func TestVendorCorpusHardNegatives(t *testing.T) {
	for _, set := range corpus.Sets {
		if set.Name != "vendor" {
			continue
		}
		labels, err := corpus.Load(set.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if len(labels.Negative) < len(labels.Want) {
			t.Errorf("%d hard negatives for %d credentials: want at least as many", len(labels.Negative), len(labels.Want))
		}
	}
}

// TestCorpusCoversEveryRule keeps the corpora honest as rules are added.
func TestCorpusCoversEveryRule(t *testing.T) {
	labelled := map[string]bool{}
	for _, set := range corpus.Sets {
		labels, err := corpus.Load(set.Labels)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range labels.Want {
			labelled[r] = true
		}
	}
	e, err := scan.NewEngine(rules.Builtin(), nil, scan.Allowlist{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range e.RuleIDs() {
		if !labelled[id] {
			t.Errorf("rule %s has no labelled example in the corpora", id)
		}
	}
}

// TestDocsListEveryRule keeps docs/scan.md's rule table complete.
func TestDocsListEveryRule(t *testing.T) {
	doc := string(mustRead(t, "../../docs/scan.md"))
	e, _ := scan.NewEngine(rules.Builtin(), nil, scan.Allowlist{})
	for _, id := range e.RuleIDs() {
		if !strings.Contains(doc, "| `"+id+"` |") {
			t.Errorf("docs/scan.md does not list rule %s", id)
		}
	}
}
