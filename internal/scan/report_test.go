package scan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/sarif"
	"github.com/keyward/keyward/internal/scan/source"
)

const planted = "ghp_PLANTEDSECRETVALUEplantedsecretvalue1"

func findings() []Finding {
	return []Finding{
		{Rule: "github-token", Description: "GitHub token", File: "a.env", StartLine: 3, EndLine: 3, StartColumn: 5, EndColumn: 45,
			Secret: planted, Public: 4, Fingerprint: "abc123"},
		{Rule: "generic-password", Description: "Hardcoded password", File: "b.yaml", StartLine: 9, EndLine: 9,
			Secret: "S3cr3t-PLANTED", Fingerprint: "def456", Commit: &source.Commit{Hash: "1234567890abcdef", Author: "Ada"}},
	}
}

func TestRedactedByDefault(t *testing.T) {
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := WriteReport(&buf, f, findings(), ReportOptions{}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "PLANTED") {
			t.Errorf("%s: secret in output:\n%s", f, out)
		}
		if !strings.Contains(out, "a.env") || !strings.Contains(out, "github-token") {
			t.Errorf("%s: finding missing:\n%s", f, out)
		}
		buf.Reset()
		WriteReport(&buf, f, findings(), ReportOptions{NoRedact: true})
		if !strings.Contains(buf.String(), planted) {
			t.Errorf("%s --no-redact: secret not shown", f)
		}
	}
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	WriteReport(&buf, "json", findings(), ReportOptions{})
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "startLine", "endLine", "rule", "fingerprint", "secret"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("JSON finding lacks %q: %v", k, got[0])
		}
	}
	if got[0]["secret"] != "ghp_*****" || got[1]["commit"] != "1234567890abcdef" {
		t.Errorf("got %v", got)
	}
	buf.Reset()
	WriteReport(&buf, "json", nil, ReportOptions{})
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("empty report = %q, want []", buf.String())
	}
}

func TestSARIFAndJUnitParse(t *testing.T) {
	var buf bytes.Buffer
	WriteReport(&buf, "sarif", findings(), ReportOptions{Describe: func(id string) string { return "desc " + id }})
	var log sarif.Log
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs[0].Results) != 2 || len(log.Runs[0].Tool.Driver.Rules) != 2 ||
		log.Runs[0].Results[0].PartialFingerprints["keyward/v1"] != "abc123" {
		t.Errorf("sarif: %+v", log)
	}
	buf.Reset()
	WriteReport(&buf, "junit", findings(), ReportOptions{})
	var suites junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	if s := suites.Suites[0]; s.Failures != 2 || len(s.Cases) != 2 {
		t.Errorf("junit: %+v", s)
	}
	if err := WriteReport(&buf, "csv", nil, ReportOptions{}); err == nil {
		t.Error("unknown format accepted")
	}
}
