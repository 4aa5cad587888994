// Package corpus reads the hand-written labels of the scanner's test corpora
// and scores a scanner's findings against them. The corpus test and
// hack/benchpeers (which scores gitleaks too) share it, so both report the
// same precision and recall from the same rules.
package corpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Set is one labelled corpus: a directory of files and its label file,
// both relative to internal/scan.
type Set struct {
	Name   string
	Dir    string
	Labels string
}

// Sets are the labelled corpora. "rules" was written alongside the rule
// list, one example per rule; "vendor" was written from the vendors'
// documented credential formats without looking at the rules.
var Sets = []Set{
	{Name: "rules", Dir: "testdata/corpus", Labels: "testdata/corpus-labels.txt"},
	{Name: "vendor", Dir: "testdata/corpus-vendor", Labels: "testdata/corpus-vendor-labels.txt"},
}

// Loc is a line of a file, the path slash-separated and relative to the
// corpus directory.
type Loc struct {
	File string
	Line int
}

func (l Loc) String() string { return l.File + ":" + strconv.Itoa(l.Line) }

// Labels are a corpus's expected findings: the rule id keyward must report
// at each credential's line, and the lines marked as hard negatives.
type Labels struct {
	Want     map[Loc]string
	Negative map[Loc]bool
}

// Load reads a label file. Each line is "path:line rule" or "path:line -"
// (a hard negative), optionally followed by a # comment.
func Load(path string) (Labels, error) {
	f, err := os.Open(path)
	if err != nil {
		return Labels{}, fmt.Errorf("labels: %w", err)
	}
	defer f.Close()
	l := Labels{Want: map[Loc]string{}, Negative: map[Loc]bool{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return Labels{}, fmt.Errorf("%s:%d: want \"path:line rule\", got %q", path, n, sc.Text())
		}
		file, line, ok := strings.Cut(fields[0], ":")
		ln, err := strconv.Atoi(line)
		if !ok || err != nil || ln < 1 {
			return Labels{}, fmt.Errorf("%s:%d: bad location %q", path, n, fields[0])
		}
		loc := Loc{file, ln}
		if _, dup := l.Want[loc]; dup || l.Negative[loc] {
			return Labels{}, fmt.Errorf("%s:%d: %s labelled twice", path, n, loc)
		}
		if fields[1] == "-" {
			l.Negative[loc] = true
		} else {
			l.Want[loc] = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		return Labels{}, fmt.Errorf("labels: %w", err)
	}
	return l, nil
}

// Finding is what a scanner reported, reduced to where and which rule.
type Finding struct {
	Loc
	Rule string
}

// Relative turns a path a scanner reported into a Loc file relative to
// the corpus root, or reports false if it lies outside.
func Relative(root, path string) (string, bool) {
	rel, err := filepath.Rel(root, filepath.FromSlash(path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// Result is a scanner's score on one corpus.
type Result struct {
	Labelled  int       // credentials in the corpus
	Found     int       // of those, reported (with the labelled rule, when rules are matched)
	Missed    []Loc     // credentials not reported
	Wrong     []Finding // reports at a labelled line under another rule
	False     []Finding // reports at lines with no credential
	Negatives int       // hard negatives in the corpus
	FalseHard int       // of the false reports, those at a hard negative
}

// Precision is the share of reports that name a credential: a credential
// found counts once, every other report once per rule.
func (r Result) Precision() float64 {
	reports := r.Found + len(r.Wrong) + len(r.False)
	if reports == 0 {
		return 1
	}
	return float64(r.Found) / float64(reports)
}

// Recall is the share of credentials found.
func (r Result) Recall() float64 {
	if r.Labelled == 0 {
		return 1
	}
	return float64(r.Found) / float64(r.Labelled)
}

// Score matches findings to labels by file and line. With matchRule a
// finding only counts if its rule is the labelled one (keyward); without,
// any finding at the line does (a peer, whose rule ids differ).
func Score(l Labels, fs []Finding, matchRule bool) Result {
	seen := map[Finding]bool{}
	found := map[Loc]bool{}
	r := Result{Labelled: len(l.Want), Negatives: len(l.Negative)}
	for _, f := range fs {
		if !matchRule {
			f.Rule = ""
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		want, labelled := l.Want[f.Loc]
		switch {
		case labelled && (!matchRule || f.Rule == want):
			if !found[f.Loc] {
				found[f.Loc] = true
				r.Found++
			}
		case labelled:
			r.Wrong = append(r.Wrong, f)
		default:
			r.False = append(r.False, f)
			if l.Negative[f.Loc] {
				r.FalseHard++
			}
		}
	}
	for loc := range l.Want {
		if !found[loc] {
			r.Missed = append(r.Missed, loc)
		}
	}
	sortLocs(r.Missed)
	sortFindings(r.Wrong)
	sortFindings(r.False)
	return r
}

func less(a, b Loc) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Line < b.Line
}

func sortLocs(ls []Loc) { sort.Slice(ls, func(i, j int) bool { return less(ls[i], ls[j]) }) }

func sortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Loc != fs[j].Loc {
			return less(fs[i].Loc, fs[j].Loc)
		}
		return fs[i].Rule < fs[j].Rule
	})
}
