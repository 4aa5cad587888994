package auditlog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/test/leak"
)

// ev builds one audit event line; opts tweak it.
func ev(id, stage, verb, user, ns, name string, code int, opts ...func(map[string]any)) string {
	m := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
		"auditID": id, "stage": stage, "verb": verb,
		"requestURI":               "/api/v1/namespaces/" + ns + "/secrets/" + name,
		"user":                     map[string]any{"username": user, "groups": []string{"system:authenticated"}},
		"objectRef":                map[string]any{"resource": "secrets", "namespace": ns, "name": name, "apiVersion": "v1"},
		"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": code},
		"requestReceivedTimestamp": "2026-12-03T10:00:00.000000Z",
		"stageTimestamp":           "2026-12-03T10:00:00.010000Z",
	}
	for _, o := range opts {
		o(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func at(ts string) func(map[string]any) {
	return func(m map[string]any) { m["requestReceivedTimestamp"] = ts }
}

func gz(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

func TestReader(t *testing.T) {
	const planted = "s3cr3t-planted-value-Q9"
	a1 := ev("a1", StageResponseComplete, "get", "alice", "ns", "db", 200)
	a2 := ev("a2", StageResponseComplete, "get", "bob", "ns", "db", 200)
	a3 := ev("a3", StageResponseComplete, "list", "bob", "ns", "", 200)
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		b.WriteString(ev(fmt.Sprintf("b%d", i), StageResponseComplete, "get", "carol", "ns", "db", 200) + "\n")
	}
	bigGz := gz(t, b.String())
	tests := []struct {
		name  string
		files map[string][]byte // relative path → content
		// args are the paths given, relative; all files when empty.
		args             []string
		events, dups     int
		problems         []string // "file:line: substring"
		wantUsersInOrder []string
	}{
		{
			name:   "plain file",
			files:  map[string][]byte{"audit.log": []byte(lines(a1, a2, a3))},
			events: 3,
		},
		{
			// alice's watch logs three stages and counts once; carol's is
			// still open (no ResponseComplete yet) and counts too.
			name: "each request counts once, open watches included",
			files: map[string][]byte{"audit.log": []byte(lines(
				ev("w1", "RequestReceived", "watch", "alice", "ns", "", 200),
				ev("w1", "ResponseStarted", "watch", "alice", "ns", "", 200),
				ev("w1", StageResponseComplete, "watch", "alice", "ns", "", 200),
				ev("p1", StagePanic, "get", "bob", "ns", "db", 500),
				ev("s1", "ResponseStarted", "watch", "carol", "ns", "", 200),
				ev("g1", "ResponseStarted", "get", "dave", "ns", "db", 200),
			))},
			events: 3,
		},
		{
			name:   "gzip told by magic bytes, not by name",
			files:  map[string][]byte{"audit-2026-12-03T10-00-00.000.log": gz(t, lines(a1, a2))},
			events: 2,
		},
		{
			name: "rotated set in a folder, copies de-duplicated by auditID",
			files: map[string][]byte{
				"logs/audit.log": []byte(lines(a2, a3)),
				"logs/audit-2026-12-02T10-00-00.000.log.gz": gz(t, lines(a1, a2)),
				"logs/audit-2026-12-01T10-00-00.000.log":    []byte(lines(a1)),
			},
			args:   []string{"logs"},
			events: 3, dups: 2,
		},
		{
			name: "UUID auditIDs, as the API server writes them, de-duplicated",
			files: map[string][]byte{
				"a.log": []byte(lines(
					ev("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", StageResponseComplete, "get", "alice", "ns", "db", 200),
					ev("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1", StageResponseComplete, "get", "alice", "ns", "db", 200))),
				"b.log": []byte(lines(
					ev("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", StageResponseComplete, "get", "alice", "ns", "db", 200),
					ev("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fz", StageResponseComplete, "get", "alice", "ns", "db", 200),
					ev("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fz", StageResponseComplete, "get", "alice", "ns", "db", 200))),
			},
			events: 3, dups: 2,
		},
		{
			name: "corrupt lines are named and skipped, the rest is read",
			files: map[string][]byte{"audit.log": []byte(lines(
				a1,
				`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","password":"`+planted,
				"not json at all "+planted,
				`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"y","stage":"ResponseComplete","verb":"get","user":{"username":"u"},"objectRef":{"name":42}}`,
				`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"`+planted+`"}}`,
				`{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get","user":{"username":"u"}}`,
				"",
				a2,
			) + `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"cut`)},
			events: 2,
			problems: []string{
				"audit.log:2: line ends part-way",
				"audit.log:3: syntax error at byte",
				`audit.log:4: field "objectRef.name" holds a JSON number`,
				"audit.log:5: not an audit event",
				"audit.log:6: field auditID is empty",
				"audit.log:9: line ends part-way",
			},
		},
		{
			name:     "gzip cut short keeps what came before",
			files:    map[string][]byte{"audit.log.gz": bigGz[:len(bigGz)/2]},
			events:   -1, // some, not all
			problems: []string{"audit.log.gz:", "reading stopped"},
		},
		{
			name:     "a line over the limit is skipped",
			files:    map[string][]byte{"audit.log": []byte(lines(a1, strings.Repeat("x", maxLine+10), a2))},
			events:   2,
			problems: []string{"audit.log:2: line longer than 4 MiB"},
		},
		{
			name:   "CRLF line ends",
			files:  map[string][]byte{"audit.log": []byte(a1 + "\r\n" + a2 + "\r\n")},
			events: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var paths []string
			if len(tt.args) == 0 {
				for name := range tt.files {
					paths = append(paths, filepath.Join(dir, name))
				}
			}
			for _, a := range tt.args {
				paths = append(paths, filepath.Join(dir, a))
			}
			rd := NewReader()
			got := 0
			if err := rd.ReadFiles(paths, func(*Event) { got++ }); err != nil {
				t.Fatal(err)
			}
			if tt.events >= 0 && got != tt.events {
				t.Errorf("events passed on = %d, want %d", got, tt.events)
			}
			if tt.events < 0 && got == 0 {
				t.Errorf("no events passed on before the cut")
			}
			if got != rd.Events || rd.Duplicates != tt.dups {
				t.Errorf("counted %d events, %d duplicates; want %d, %d", rd.Events, rd.Duplicates, got, tt.dups)
			}
			var msgs []string
			for _, p := range rd.Problems {
				msgs = append(msgs, strings.TrimPrefix(p.Error(), dir+"/"))
				leak.CheckError(t, p.Error(), planted)
			}
			if tt.events >= 0 && len(msgs) != len(tt.problems) {
				t.Fatalf("problems:\n%s\nwant %d", strings.Join(msgs, "\n"), len(tt.problems))
			}
			for i, want := range tt.problems {
				if tt.events < 0 {
					if len(msgs) != 1 || !strings.Contains(msgs[0], want) {
						t.Errorf("problems %q, want one with %q", msgs, want)
					}
					continue
				}
				file, rest, _ := strings.Cut(want, " ")
				if !strings.HasPrefix(msgs[i], file) || !strings.Contains(msgs[i], rest) {
					t.Errorf("problem %d = %q, want %q", i, msgs[i], want)
				}
			}
		})
	}
}

func TestReaderMissingFile(t *testing.T) {
	err := NewReader().ReadFiles([]string{filepath.Join(t.TempDir(), "nope.log")}, func(*Event) {})
	if err == nil || !strings.Contains(err.Error(), "nope.log") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func TestEventTimes(t *testing.T) {
	rd, ag := NewReader(), NewAggregator()
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	content := lines(
		ev("1", StageResponseComplete, "get", "alice", "ns", "db", 200, at("2026-12-03T11:00:00.5Z")),
		ev("2", StageResponseComplete, "get", "alice", "ns", "db", 200, at("2026-12-03T09:00:00.000001Z")),
		ev("3", StageResponseComplete, "watch", "alice", "ns", "db", 200, at("2026-12-03T10:00:00Z")),
	)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rd.ReadFiles([]string{p}, ag.Add); err != nil {
		t.Fatal(err)
	}
	recs := Result(rd, ag, Options{}).Records.([]Record)
	if len(recs) != 1 {
		t.Fatalf("records = %+v", recs)
	}
	r := recs[0]
	wantFirst := time.Date(2026, 12, 3, 9, 0, 0, 1000, time.UTC)
	wantLast := time.Date(2026, 12, 3, 11, 0, 0, 5e8, time.UTC)
	if !r.First.Equal(wantFirst) || !r.Last.Equal(wantLast) || r.Count != 3 || strings.Join(r.Verbs, ",") != "get,watch" {
		t.Errorf("record = %+v", r)
	}
}

// BenchmarkReader reads a gzipped log of Secret reads, as a rotated file is.
func BenchmarkReader(b *testing.B) {
	var text bytes.Buffer
	const n = 20000
	for i := 0; i < n; i++ {
		text.WriteString(ev(fmt.Sprintf("0f1e2d3c-4b5a-6978-8796-%012x", i), StageResponseComplete, "get",
			fmt.Sprintf("system:serviceaccount:ns%d:sa", i%50), fmt.Sprintf("ns%d", i%50), fmt.Sprintf("s%d", i%400), 200))
		text.WriteByte('\n')
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(text.Bytes())
	w.Close()
	b.SetBytes(int64(text.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rd, ag := NewReader(), NewAggregator()
		if err := rd.read("audit.log.gz", bytes.NewReader(z.Bytes()), ag.Add); err != nil || rd.Events != n {
			b.Fatalf("read %d events: %v", rd.Events, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
