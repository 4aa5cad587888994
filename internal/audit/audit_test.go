package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/sarif"
)

func TestExitCode(t *testing.T) {
	res := func(s ...Severity) []*Result {
		r := &Result{Check: "x"}
		for _, v := range s {
			r.Findings = append(r.Findings, Finding{Severity: v})
		}
		return []*Result{r}
	}
	for _, tc := range []struct {
		name    string
		results []*Result
		failed  []Failed
		failOn  Severity
		want    int
	}{
		{"clean", res(), nil, High, 0},
		{"below threshold", res(Low, Medium), nil, High, 0},
		{"at threshold", res(Low, High), nil, High, 1},
		{"above threshold", res(Critical), nil, Medium, 1},
		{"none never fails", res(Critical), nil, None, 0},
		{"a failed check wins", res(Critical), []Failed{{Check: "encryption"}}, High, 2},
		{"a failed check fails even with none", res(), []Failed{{Check: "log"}}, None, 2},
	} {
		if got := ExitCode(tc.results, tc.failed, tc.failOn); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for _, name := range []string{"none", "info", "low", "medium", "high", "critical", "HIGH"} {
		s, err := ParseSeverity(name)
		if err != nil || !strings.EqualFold(s.String(), name) {
			t.Errorf("%s: %v %v", name, s, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil || !strings.Contains(err.Error(), "critical") {
		t.Errorf("unknown severity: %v", err)
	}
}

type rec struct {
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
}

func sample() []*Result {
	return []*Result{
		{Check: "encryption", Records: []rec{{"db", High}}, Header: []string{"name", "severity"}, Rows: [][]string{{"db", "high"}},
			Findings: []Finding{{Check: "encryption", Rule: "plaintext", Severity: High, Object: Object{Kind: "Secret", Namespace: "a", Name: "db"}, Message: "stored in plaintext"}},
			Notes:    []string{"run --fix"}},
		{Check: "lint", Records: []rec(nil),
			Findings: []Finding{{Check: "lint", Rule: "identity-first", Severity: Medium, Object: Object{File: "enc.yaml", Line: 4}, Message: "identity first"}}},
	}
}

func TestWriteJSON(t *testing.T) {
	var one bytes.Buffer
	if err := Write(&one, "json", Report{Results: sample()[:1], Single: true}); err != nil {
		t.Fatal(err)
	}
	var list []rec
	if err := json.Unmarshal(one.Bytes(), &list); err != nil || len(list) != 1 || list[0].Severity != High {
		t.Fatalf("one check is its records: %v %s", err, one.String())
	}
	var all bytes.Buffer
	if err := Write(&all, "json", Report{Results: sample(), Failed: []Failed{{Check: "log", Error: "no file"}}}); err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Encryption []rec     `json:"encryption"`
		Lint       []rec     `json:"lint"`
		Findings   []Finding `json:"findings"`
		Errors     []Failed  `json:"errors"`
	}
	if err := json.Unmarshal(all.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	if len(obj.Encryption) != 1 || obj.Lint == nil || len(obj.Findings) != 2 || len(obj.Errors) != 1 {
		t.Fatalf("several checks: %s", all.String())
	}
	if !strings.Contains(all.String(), `"lint": []`) {
		t.Errorf("no records should be an empty list, not null: %s", all.String())
	}
}

func TestWriteSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "sarif", Report{Results: sample(), Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	var log sarif.Log
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	r := log.Runs[0]
	if len(r.Results) != 2 || len(r.Tool.Driver.Rules) != 2 {
		t.Fatalf("results %d, rules %d", len(r.Results), len(r.Tool.Driver.Rules))
	}
	if r.Results[0].Level != "error" || r.Results[0].Locations[0].LogicalLocations[0].FullyQualifiedName != "Secret/a/db" {
		t.Errorf("cluster finding: %+v", r.Results[0])
	}
	if r.Results[1].Level != "warning" || r.Results[1].Locations[0].PhysicalLocation.Region.StartLine != 4 {
		t.Errorf("file finding: %+v", r.Results[1])
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, "table", Report{Results: sample(), Failed: []Failed{{Check: "log", Error: "no file"}}, Skipped: []string{"encryption: skipped: no etcd"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== encryption ==", "NAME", "db", "encryption: 1 finding(s), highest high", "note: run --fix", "log: failed: no file", "encryption: skipped: no etcd"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if err := Write(&b, "yaml", Report{}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestProgressIsQuietOnShortRunsAndThrottled(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := NewProgress(&b, false, 2*time.Second)
	p.start, p.now = now, func() time.Time { return now }
	p.Update("listing secrets", 10, 0)
	if b.Len() != 0 {
		t.Fatalf("printed before the run was long: %q", b.String())
	}
	now = now.Add(3 * time.Second)
	p.Update("listing secrets", 500, 0)
	p.Update("listing secrets", 1000, 0) // within the same second
	now = now.Add(time.Second)
	p.Update("analysing", 1, 2)
	if got := b.String(); got != "listing secrets: 500\nanalysing: 1/2\n" {
		t.Errorf("progress lines %q", got)
	}
	var nilP *Progress
	nilP.Update("x", 1, 1)
	nilP.Done()
}

// The streamed JSON is byte for byte what encoding/json writes for the same
// values, so readers see no difference.
func TestWriteJSONStreamsAsEncodingJSON(t *testing.T) {
	recs := []rec{{"db", High}, {"a<b→c", None}}
	results := []*Result{{Check: "access", Records: recs}, {Check: "age"}}
	want := func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	var one bytes.Buffer
	if err := Write(&one, "json", Report{Results: results[:1], Single: true}); err != nil {
		t.Fatal(err)
	}
	if got := one.String(); got != want(recs) {
		t.Errorf("single check:\n%s\nwant\n%s", got, want(recs))
	}
	var all bytes.Buffer
	if err := Write(&all, "json", Report{Results: results, Skipped: []string{"log: skipped"}}); err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{"access": recs, "age": []any{}, "findings": []Finding{}, "errors": []Failed{}, "skipped": []string{"log: skipped"}}
	if got := all.String(); got != want(obj) {
		t.Errorf("combined:\n%s\nwant\n%s", got, want(obj))
	}
}
