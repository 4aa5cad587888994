// Package audit holds what every `keyward audit` check shares: severities,
// findings, a check's result, the reports (table, JSON, SARIF) and the exit
// status. The checks live in the subpackages (access, encryption, age, reuse,
// exposure, auditlog); each returns a Result and never prints.
//
// No Result carries a Secret's value or text derived from one: records name
// objects and keys, and findings say what is wrong in words of their own.
package audit

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity orders findings; --fail-on compares against it.
type Severity int

const (
	// None marks a record that is not a finding (a reader that is expected,
	// a Secret stored encrypted).
	None Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"none", "info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < None || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, as --fail-on takes it.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return None, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames, ", "))
}

func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseSeverity(name)
	*s = v
	return err
}

// Object names what a finding is about: a Kubernetes object, or a file and
// line (an EncryptionConfiguration, an audit log).
type Object struct {
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	// Context is the kubeconfig context, when a check reads several.
	Context string `json:"context,omitempty"`
}

func (o Object) String() string {
	var b strings.Builder
	if o.Context != "" {
		b.WriteString(o.Context + ":")
	}
	if o.File != "" {
		b.WriteString(o.File)
		if o.Line > 0 {
			fmt.Fprintf(&b, ":%d", o.Line)
		}
		return b.String()
	}
	if o.Kind != "" {
		b.WriteString(o.Kind + "/")
	}
	if o.Namespace != "" {
		b.WriteString(o.Namespace + "/")
	}
	b.WriteString(o.Name)
	return b.String()
}

// Finding is one thing wrong. Rule is a short stable id within the check
// ("plaintext", "identity-first"); Message says what is wrong and what to do,
// and never quotes a value.
type Finding struct {
	Check    string   `json:"check"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Object   Object   `json:"object"`
	Message  string   `json:"message"`
}

// Result is what one check found.
type Result struct {
	// Check is the check's name, as its subcommand is called.
	Check string
	// Records are the check's rows as `-o json` prints them: a slice of the
	// check's own record type (access grants, encryption states, ...).
	Records any
	// Header and Rows are the table people read; Rows line up with Header.
	Header []string
	Rows   [][]string
	// Findings are what --fail-on and SARIF look at.
	Findings []Finding
	// Notes are sentences printed under the table: what was skipped, what to
	// run next.
	Notes []string
}

// Max is the highest severity among the findings.
func (r *Result) Max() Severity {
	m := None
	for _, f := range r.Findings {
		m = max(m, f.Severity)
	}
	return m
}

// Failed is a check that could not run; the others still report.
type Failed struct {
	Check string `json:"check"`
	Error string `json:"error"`
}

// ExitCode is the status `keyward audit` exits with: 2 when a check failed, 1
// when a finding is at or above failOn (None never fails), else 0.
func ExitCode(results []*Result, failed []Failed, failOn Severity) int {
	if len(failed) > 0 {
		return 2
	}
	if failOn == None {
		return 0
	}
	for _, r := range results {
		if r.Max() >= failOn {
			return 1
		}
	}
	return 0
}
