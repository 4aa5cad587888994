package scan

// Reports: findings as text, JSON, SARIF or JUnit XML. Secrets are redacted
// unless the caller asks otherwise.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"

	"github.com/keyward/keyward/internal/sarif"
)

// Formats lists the supported report formats.
var Formats = []string{"text", "json", "sarif", "junit"}

// ReportOptions control a report.
type ReportOptions struct {
	NoRedact    bool
	ToolVersion string
	// Describe returns a rule's description (for SARIF rule metadata).
	Describe func(id string) string
}

// WriteReport renders findings in the given format.
func WriteReport(w io.Writer, format string, fs []Finding, o ReportOptions) error {
	switch format {
	case "", "text":
		return writeText(w, fs, o)
	case "json":
		return writeJSON(w, fs, o)
	case "sarif":
		return writeSARIF(w, fs, o)
	case "junit":
		return writeJUnit(w, fs, o)
	}
	return fmt.Errorf("unknown format %q (want one of text, json, sarif, junit)", format)
}

func secret(f Finding, o ReportOptions) string {
	if o.NoRedact {
		return f.Secret
	}
	return f.Redacted()
}

func writeText(w io.Writer, fs []Finding, o ReportOptions) error {
	for _, f := range fs {
		loc := fmt.Sprintf("%s:%d", f.File, f.StartLine)
		if f.StartColumn > 0 {
			loc += fmt.Sprintf(":%d", f.StartColumn)
		}
		if _, err := fmt.Fprintf(w, "%s: %s: %s [%s]\n", loc, f.Rule, f.Description, secret(f, o)); err != nil {
			return err
		}
		if f.Commit != nil {
			if _, err := fmt.Fprintf(w, "    commit %.12s %s <%s> %s: %s\n", f.Commit.Hash, f.Commit.Author, f.Commit.Email, f.Commit.Date, f.Commit.Message); err != nil {
				return err
			}
		}
	}
	return nil
}

type jsonFinding struct {
	Rule        string `json:"rule"`
	Description string `json:"description"`
	File        string `json:"file"`
	StartLine   int    `json:"startLine"`
	EndLine     int    `json:"endLine"`
	StartColumn int    `json:"startColumn,omitempty"`
	EndColumn   int    `json:"endColumn,omitempty"`
	Secret      string `json:"secret"`
	Redacted    bool   `json:"redacted"`
	Fingerprint string `json:"fingerprint"`
	Commit      string `json:"commit,omitempty"`
	Author      string `json:"author,omitempty"`
	Email       string `json:"email,omitempty"`
	Date        string `json:"date,omitempty"`
	Message     string `json:"message,omitempty"`
}

func writeJSON(w io.Writer, fs []Finding, o ReportOptions) error {
	out := make([]jsonFinding, 0, len(fs))
	for _, f := range fs {
		j := jsonFinding{Rule: f.Rule, Description: f.Description, File: f.File, StartLine: f.StartLine, EndLine: f.EndLine,
			StartColumn: f.StartColumn, EndColumn: f.EndColumn, Secret: secret(f, o), Redacted: !o.NoRedact, Fingerprint: f.Fingerprint}
		if c := f.Commit; c != nil {
			j.Commit, j.Author, j.Email, j.Date, j.Message = c.Hash, c.Author, c.Email, c.Date, c.Message
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeSARIF(w io.Writer, fs []Finding, o ReportOptions) error {
	ruleSet := map[string]bool{}
	results := make([]sarif.Result, 0, len(fs))
	for _, f := range fs {
		ruleSet[f.Rule] = true
		r := sarif.Result{
			RuleID:  f.Rule,
			Level:   "error",
			Message: sarif.Message{Text: fmt.Sprintf("%s: %s", f.Description, secret(f, o))},
			Locations: []sarif.Location{{PhysicalLocation: &sarif.PhysicalLocation{
				ArtifactLocation: sarif.ArtifactLocation{URI: f.File},
				Region:           &sarif.Region{StartLine: f.StartLine, EndLine: f.EndLine, StartColumn: f.StartColumn, EndColumn: f.EndColumn},
			}}},
			PartialFingerprints: map[string]string{"keyward/v1": f.Fingerprint},
		}
		if f.Commit != nil {
			r.Properties = map[string]string{"commit": f.Commit.Hash, "author": f.Commit.Author, "date": f.Commit.Date}
		}
		results = append(results, r)
	}
	ids := make([]string, 0, len(ruleSet))
	for id := range ruleSet {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rules := make([]sarif.Rule, 0, len(ids))
	for _, id := range ids {
		d := id
		if o.Describe != nil && o.Describe(id) != "" {
			d = o.Describe(id)
		}
		rules = append(rules, sarif.Rule{ID: id, ShortDescription: sarif.Message{Text: d}})
	}
	return sarif.Write(w, sarif.New(sarif.Run{
		Tool:    sarif.Tool{Driver: sarif.Driver{Name: "keyward", Version: o.ToolVersion, Rules: rules}},
		Results: results,
	}))
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}
type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}
type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}
type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit: one failing test case per finding, or one passing case when
// clean, so CI dashboards show the scan ran.
func writeJUnit(w io.Writer, fs []Finding, o ReportOptions) error {
	s := junitSuite{Name: "keyward scan", Tests: max(len(fs), 1), Failures: len(fs)}
	for _, f := range fs {
		msg := fmt.Sprintf("%s at %s:%d", f.Description, f.File, f.StartLine)
		text := fmt.Sprintf("rule: %s\nfile: %s\nlines: %d-%d\nsecret: %s\nfingerprint: %s\n", f.Rule, f.File, f.StartLine, f.EndLine, secret(f, o), f.Fingerprint)
		if f.Commit != nil {
			text += fmt.Sprintf("commit: %s\n", f.Commit.Hash)
		}
		s.Cases = append(s.Cases, junitCase{
			Name: fmt.Sprintf("%s:%d %s", f.File, f.StartLine, f.Rule), ClassName: f.File,
			Failure: &junitFailure{Message: msg, Type: f.Rule, Text: text},
		})
	}
	if len(fs) == 0 {
		s.Cases = []junitCase{{Name: "no secrets found", ClassName: "keyward.scan"}}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
