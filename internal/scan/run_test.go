package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/scan"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, o scan.Options) scan.Result {
	t.Helper()
	res, err := scan.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("incomplete scan: %v", res.Err)
	}
	return res
}

func ruleIDs(fs []scan.Finding) string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule)
	}
	return strings.Join(ids, ",")
}

// The baseline accepts findings by content: once written, the same secrets
// are not reported, a new one is, and the baseline keeps its salt.
func TestRunBaseline(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "app.env")
	writeFile(t, env, "AWS_ID="+awsID+"\n")

	res := run(t, scan.Options{Paths: []string{dir}})
	if ruleIDs(res.Findings) != "aws-access-key-id" || res.Findings[0].Fingerprint == "" || res.Files != 1 {
		t.Fatalf("without baseline: %s, %d files", ruleIDs(res.Findings), res.Files)
	}

	res = run(t, scan.Options{Paths: []string{dir}, WriteBaseline: true})
	want := filepath.Join(dir, scan.DefaultBaseline)
	if res.BaselineWritten != want || res.BaselineEntries != 1 {
		t.Fatalf("baseline written to %q with %d entries, want %q with 1", res.BaselineWritten, res.BaselineEntries, want)
	}
	written, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(written), awsID) {
		t.Fatal("baseline holds the secret")
	}

	if res := run(t, scan.Options{Paths: []string{dir}}); len(res.Findings) != 0 {
		t.Fatalf("accepted finding reported: %s", ruleIDs(res.Findings))
	}

	writeFile(t, env, "GITHUB="+ghToken()+"\nAWS_ID="+awsID+"\n")
	if res := run(t, scan.Options{Paths: []string{dir}}); ruleIDs(res.Findings) != "github-token" {
		t.Fatalf("after a new secret: %s", ruleIDs(res.Findings))
	}

	run(t, scan.Options{Paths: []string{dir}, WriteBaseline: true})
	rewritten, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	salt := func(b []byte) string { return strings.SplitN(string(b), `"salt"`, 2)[1][:40] }
	if salt(rewritten) != salt(written) {
		t.Error("rewriting the baseline changed its salt")
	}
}

// A baseline named explicitly must exist; the default one is optional.
func TestRunBaselineMissing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.env"), "AWS_ID="+awsID+"\n")
	if _, err := scan.Run(context.Background(), scan.Options{Paths: []string{dir}, BaselinePath: filepath.Join(dir, "nope.json")}); err == nil {
		t.Error("missing explicit baseline accepted")
	}
	other := filepath.Join(t.TempDir(), "other.json")
	res := run(t, scan.Options{Paths: []string{dir}, BaselinePath: other, WriteBaseline: true})
	if res.BaselineWritten != other {
		t.Errorf("baseline written to %q, want %q", res.BaselineWritten, other)
	}
	if _, err := os.Stat(filepath.Join(dir, scan.DefaultBaseline)); err == nil {
		t.Error("default baseline written although another was named")
	}
}

// A scan that failed part way must not become the accepted state.
func TestRunNoBaselineFromIncompleteScan(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.env"), "AWS_ID="+awsID+"\n")
	missing := filepath.Join(dir, "missing")

	res, err := scan.Run(context.Background(), scan.Options{Paths: []string{dir, missing}})
	if err != nil || res.Err == nil || len(res.Findings) != 1 {
		t.Fatalf("incomplete scan: err %v, scan error %v, %d findings", err, res.Err, len(res.Findings))
	}
	_, err = scan.Run(context.Background(), scan.Options{Paths: []string{dir, missing}, WriteBaseline: true})
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("baseline from an incomplete scan: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, scan.DefaultBaseline)); err == nil {
		t.Error("baseline written from an incomplete scan")
	}
}

// Configuration comes from the named file, else from the scanned directory.
func TestRunConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.env"), "AWS_ID="+awsID+"\n")
	writeFile(t, filepath.Join(dir, ".keyward-scan.yaml"), "disabledRules: [aws-access-key-id]\n")
	if res := run(t, scan.Options{Paths: []string{dir}}); len(res.Findings) != 0 {
		t.Errorf("config in the scanned directory ignored: %s", ruleIDs(res.Findings))
	}

	named := filepath.Join(t.TempDir(), "scan.yaml")
	writeFile(t, named, "allowlist:\n  paths: ['nothing']\n")
	if res := run(t, scan.Options{Paths: []string{dir}, ConfigPath: named}); ruleIDs(res.Findings) != "aws-access-key-id" {
		t.Errorf("named config not used: %s", ruleIDs(res.Findings))
	}

	writeFile(t, named, "disabledRule: [typo]\n")
	if _, err := scan.Run(context.Background(), scan.Options{Paths: []string{dir}, ConfigPath: named}); err == nil {
		t.Error("invalid config accepted")
	}
}

// "-" reads the given reader; the report is redacted by default.
func TestRunStdinAndReport(t *testing.T) {
	res := run(t, scan.Options{Paths: []string{"-"}, Stdin: strings.NewReader("token: " + ghToken() + "\n")})
	if ruleIDs(res.Findings) != "github-token" || res.Findings[0].File != "stdin" {
		t.Fatalf("stdin: %+v", res.Findings)
	}
	var out strings.Builder
	if err := res.Report(&out, "sarif", scan.ReportOptions{ToolVersion: "v9"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"v9"`) || strings.Contains(out.String(), ghToken()) {
		t.Errorf("report:\n%s", out.String())
	}
}
