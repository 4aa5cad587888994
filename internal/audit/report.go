package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/keyward/keyward/internal/sarif"
)

// Formats are the values -o takes.
var Formats = []string{"table", "json", "sarif"}

// Report is one run of `keyward audit`.
type Report struct {
	Results []*Result
	Failed  []Failed
	// Skipped says which checks did not run, and why.
	Skipped []string
	// Single is a check run alone: in JSON, its records alone.
	Single  bool
	Version string
}

// Write prints rep in format. A check run alone is, in JSON, its records
// alone (an array, the shape each check documents); `keyward audit` is an
// object keyed by check, with "findings", "errors" and "skipped".
func Write(w io.Writer, format string, rep Report) error {
	switch format {
	case "", "table":
		return writeTable(w, rep.Results, rep.Failed, rep.Skipped)
	case "json":
		return writeJSON(w, rep)
	case "sarif":
		return writeSARIF(w, rep.Results, rep.Failed, rep.Version)
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, results []*Result, failed []Failed, skipped []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range results {
		if len(results) > 1 {
			if i > 0 {
				fmt.Fprintln(tw)
			}
			fmt.Fprintf(tw, "== %s ==\n", r.Check)
		}
		if len(r.Rows) == 0 {
			fmt.Fprintln(tw, "nothing to report")
		} else {
			fmt.Fprintln(tw, strings.ToUpper(strings.Join(r.Header, "\t")))
			for _, row := range r.Rows {
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if n := len(r.Findings); n > 0 {
			fmt.Fprintf(w, "%s: %d finding(s), highest %s\n", r.Check, n, r.Max())
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	for _, f := range failed {
		fmt.Fprintf(w, "%s: failed: %s\n", f.Check, f.Error)
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "%s\n", s)
	}
	return nil
}

// records returns r.Records, or an empty array for none, so JSON never says
// null where a list is documented.
func records(r *Result) any {
	if r.Records == nil {
		return []any{}
	}
	if v := reflect.ValueOf(r.Records); v.Kind() == reflect.Slice && v.IsNil() {
		return []any{}
	}
	return r.Records
}

// writeJSON streams the report: each record is encoded on its own, so a
// report of tens of thousands of records is never held twice in memory
// (records, then one buffer of all their JSON). The bytes are those of
// json.Encoder with a two-space indent.
func writeJSON(w io.Writer, rep Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if rep.Single && len(rep.Results) == 1 {
		if err := writeArray(bw, records(rep.Results[0]), ""); err != nil {
			return err
		}
		if _, err := bw.WriteString("\n"); err != nil {
			return err
		}
		return bw.Flush()
	}
	findings := []Finding{}
	fields := map[string]any{}
	for _, r := range rep.Results {
		fields[r.Check] = records(r)
		findings = append(findings, r.Findings...)
	}
	fields["findings"] = findings
	fields["errors"] = cmpOr(rep.Failed, []Failed{})
	fields["skipped"] = cmpOr(rep.Skipped, []string{})
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		bw.WriteString("  " + string(name) + ": ")
		if err := writeArray(bw, fields[k], "  "); err != nil {
			return err
		}
		if i < len(keys)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

func cmpOr[T any](v []T, empty []T) []T {
	if v == nil {
		return empty
	}
	return v
}

// writeArray writes the slice v as an indented JSON array whose lines
// start with prefix, one element at a time.
func writeArray(w *bufio.Writer, v any, prefix string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return fmt.Errorf("report records are a %s, not a list", rv.Kind())
	}
	if rv.Len() == 0 {
		_, err := w.WriteString("[]")
		return err
	}
	w.WriteString("[\n")
	for i := range rv.Len() {
		b, err := marshalIndent(rv.Index(i).Interface(), prefix+"  ")
		if err != nil {
			return err
		}
		w.WriteString(prefix + "  ")
		w.Write(b)
		if i < rv.Len()-1 {
			w.WriteString(",")
		}
		if _, err := w.WriteString("\n"); err != nil {
			return err
		}
	}
	_, err := w.WriteString(prefix + "]")
	return err
}

// marshalIndent is json.MarshalIndent without HTML escaping (a "→" or "<"
// in a via chain stays readable).
func marshalIndent(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// In SARIF, findings about cluster objects carry a logical location
// ("namespace/Kind/name"); findings about a file carry a physical one.

func sarifLevel(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s >= Medium:
		return "warning"
	}
	return "note"
}

func writeSARIF(w io.Writer, results []*Result, failed []Failed, version string) error {
	rules := map[string]string{}
	run := sarif.Run{
		Tool: sarif.Tool{Driver: sarif.Driver{
			Name: "keyward-audit", Version: version,
			InformationURI: "https://github.com/keyward/keyward/blob/main/docs/audit.md",
		}},
		Results:     []sarif.Result{},
		Invocations: []sarif.Invocation{{ExecutionSuccessful: len(failed) == 0}},
	}
	for _, r := range results {
		for _, f := range r.Findings {
			id := f.Check + "/" + f.Rule
			if _, ok := rules[id]; !ok {
				rules[id] = f.Check + ": " + f.Rule
			}
			res := sarif.Result{
				RuleID:     id,
				Level:      sarifLevel(f.Severity),
				Message:    sarif.Message{Text: f.Message},
				Properties: map[string]string{"severity": f.Severity.String()},
			}
			if f.Object.File != "" {
				loc := sarif.Location{PhysicalLocation: &sarif.PhysicalLocation{ArtifactLocation: sarif.ArtifactLocation{URI: f.Object.File}}}
				if f.Object.Line > 0 {
					loc.PhysicalLocation.Region = &sarif.Region{StartLine: f.Object.Line}
				}
				res.Locations = []sarif.Location{loc}
			} else if f.Object.Name != "" || f.Object.Namespace != "" {
				res.Locations = []sarif.Location{{LogicalLocations: []sarif.LogicalLocation{{
					Name: f.Object.Name, FullyQualifiedName: f.Object.String(), Kind: "resource",
				}}}}
			}
			run.Results = append(run.Results, res)
		}
	}
	for _, f := range failed {
		run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications,
			sarif.Notification{Level: "error", Message: sarif.Message{Text: f.Check + ": " + f.Error}})
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	run.Tool.Driver.Rules = []sarif.Rule{}
	for _, id := range ids {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarif.Rule{ID: id, ShortDescription: sarif.Message{Text: rules[id]}})
	}
	return sarif.Write(w, sarif.New(run))
}
