package scan_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/scan"
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

type loc struct {
	file string
	line int
}

// TestCorpus measures precision and recall on the labelled corpus: fake
// credentials of many formats in realistic files, and hard negatives
// (SealedSecrets, SOPS, placeholders, documentation keys, hashes, UUIDs).
func TestCorpus(t *testing.T) {
	want := map[loc]string{}
	f, err := os.Open("testdata/corpus-labels.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		pl, rule, _ := strings.Cut(l, " ")
		p, ln, _ := strings.Cut(pl, ":")
		n, err := strconv.Atoi(ln)
		if err != nil {
			t.Fatalf("bad label %q", l)
		}
		want[loc{p, n}] = rule
	}

	root := filepath.Join("testdata", "corpus")
	got := map[loc][]string{}
	s := newScanner(t)
	err = s.Files(context.Background(), []scan.Input{{Path: root}}, nil, func(fd scan.Finding) {
		rel, _ := filepath.Rel(root, filepath.FromSlash(fd.File))
		k := loc{filepath.ToSlash(rel), fd.StartLine}
		got[k] = append(got[k], fd.Rule)
	})
	if err != nil {
		t.Fatal(err)
	}
	tp, fp := 0, 0
	for k, rs := range got {
		if _, ok := want[k]; ok {
			tp++
			if !contains(rs, want[k]) {
				t.Logf("rule mismatch at %s:%d: want %s, got %v", k.file, k.line, want[k], rs)
			}
		} else {
			fp++
			t.Logf("false positive: %s:%d %v", k.file, k.line, rs)
		}
	}
	fn := 0
	for k, r := range want {
		if _, ok := got[k]; !ok {
			fn++
			t.Logf("missed: %s:%d %s", k.file, k.line, r)
		}
	}
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	t.Logf("corpus: %d labelled, %d true positives, %d false positives, %d missed: precision %.3f recall %.3f", len(want), tp, fp, fn, precision, recall)
	if precision < 0.95 || recall < 0.95 {
		t.Errorf("precision %.3f, recall %.3f: want both >= 0.95", precision, recall)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestCorpusCoversEveryRule keeps the corpus honest as rules are added.
func TestCorpusCoversEveryRule(t *testing.T) {
	labels := string(mustRead(t, "testdata/corpus-labels.txt"))
	e, err := scan.NewEngine(rules.Builtin(), nil, scan.Allowlist{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range e.RuleIDs() {
		if !strings.Contains(labels, " "+id+"\n") {
			t.Errorf("rule %s has no labelled example in the corpus", id)
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
