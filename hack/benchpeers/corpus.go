package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyward/keyward/internal/scan/corpus"
)

// accuracy is both scanners' score on one labelled corpus.
type accuracy struct {
	Set           string `json:"set"`
	Dir           string `json:"dir"`
	Credentials   int    `json:"credentials"`
	HardNegatives int    `json:"hard_negatives"`
	// Keyward's findings count only under the labelled rule; gitleaks',
	// whose rule ids differ, at the labelled line under any rule.
	Keyward  score `json:"keyward"`
	Gitleaks score `json:"gitleaks"`
}

type score struct {
	Found          int     `json:"found"`
	Missed         int     `json:"missed"`
	WrongRule      int     `json:"wrong_rule"`
	FalsePositives int     `json:"false_positives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
}

func toScore(r corpus.Result) score {
	return score{Found: r.Found, Missed: len(r.Missed), WrongRule: len(r.Wrong), FalsePositives: len(r.False),
		Precision: r.Precision(), Recall: r.Recall()}
}

// benchAccuracy scans each labelled corpus of internal/scan with both
// tools as a user would (JSON reports to files in work) and scores what
// they report against the hand-written labels.
func benchAccuracy(o options, keyward, gitleaks, work string) ([]accuracy, error) {
	var out []accuracy
	for _, set := range corpus.Sets {
		dir, err := filepath.Abs(filepath.Join("internal", "scan", filepath.FromSlash(set.Dir)))
		if err != nil {
			return nil, err
		}
		labels, err := corpus.Load(filepath.Join("internal", "scan", filepath.FromSlash(set.Labels)))
		if err != nil {
			return nil, err
		}
		progress("scan accuracy: %s corpus (%s)", set.Name, dir)
		kwReport := filepath.Join(work, "keyward-"+set.Name+".json")
		if _, err := o.launch.run([]string{keyward, "scan", "--format", "json", "--output", kwReport, dir}, "", "", 1); err != nil {
			return nil, err
		}
		glReport := filepath.Join(work, "gitleaks-"+set.Name+".json")
		if _, err := o.launch.run([]string{gitleaks, "dir", dir, "--no-banner", "--report-format", "json",
			"--report-path", glReport, "--exit-code", "0"}, "", ""); err != nil {
			return nil, err
		}
		var kwFound []struct {
			Rule      string `json:"rule"`
			File      string `json:"file"`
			StartLine int    `json:"startLine"`
		}
		if err := readJSON(kwReport, &kwFound); err != nil {
			return nil, err
		}
		var glFound []struct {
			RuleID    string
			File      string
			StartLine int
		}
		if err := readJSON(glReport, &glFound); err != nil {
			return nil, err
		}
		var kw, gl []corpus.Finding
		for _, f := range kwFound {
			if kw, err = appendFinding(kw, dir, f.File, f.StartLine, f.Rule); err != nil {
				return nil, fmt.Errorf("keyward's report: %w", err)
			}
		}
		for _, f := range glFound {
			if gl, err = appendFinding(gl, dir, f.File, f.StartLine, f.RuleID); err != nil {
				return nil, fmt.Errorf("gitleaks' report: %w", err)
			}
		}
		out = append(out, accuracy{Set: set.Name, Dir: dir, Credentials: len(labels.Want), HardNegatives: len(labels.Negative),
			Keyward: toScore(corpus.Score(labels, kw, true)), Gitleaks: toScore(corpus.Score(labels, gl, false))})
	}
	return out, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func appendFinding(fs []corpus.Finding, root, file string, line int, rule string) ([]corpus.Finding, error) {
	rel, ok := corpus.Relative(root, file)
	if !ok {
		return fs, fmt.Errorf("finding outside %s: %s", root, file)
	}
	return append(fs, corpus.Finding{Loc: corpus.Loc{File: rel, Line: line}, Rule: rule}), nil
}
