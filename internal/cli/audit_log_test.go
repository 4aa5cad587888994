package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/audit/auditlog"
)

func TestAuditLogCommand(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "audit.log")
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","verb":"get",` +
		`"user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"app","name":"db"},"responseStatus":{"code":200}}`
	if err := os.WriteFile(logFile, []byte(line+"\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noCluster := []string{"--kubeconfig", filepath.Join(dir, "none"), "--no-progress"}
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{name: "policy", args: []string{"audit", "policy"}, out: auditlog.Policy()},
		{name: "log without files fails", args: []string{"audit", "log"}, code: 2, err: "no audit log given"},
		{name: "log reads files without the cluster", args: append([]string{"audit", "log", logFile}, noCluster...),
			out: "not compared"},
		{name: "log names the corrupt line", args: append([]string{"audit", "log", logFile}, noCluster...),
			out: "skipped " + logFile + ":2: not a JSON audit event"},
		{name: "--audit-log under audit", args: append([]string{"audit", "--audit-log", logFile}, noCluster...),
			code: 2, out: "readers were not compared", err: "audit access:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs strings.Builder
			code := Main(append([]string{"keyward"}, tt.args...), Streams{In: strings.NewReader(""), Out: &out, Err: &errs},
				func(string) string { return "" })
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errs.String(), tt.err) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nwant stdout with %q, stderr with %q", code, tt.code, out.String(), errs.String(), tt.out, tt.err)
			}
		})
	}
}
