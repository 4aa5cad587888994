package source

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestChunks(t *testing.T) {
	var in strings.Builder
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&in, "line %04d\n", i) // 10 bytes a line
	}
	tests := []struct{ size, overlap int }{{64, 16}, {100, 30}, {4096, 100}, {1 << 20, 16 << 10}}
	for _, tt := range tests {
		var chunks []Chunk
		_, err := Chunks(strings.NewReader(in.String()), tt.size, tt.overlap, nil, func(c Chunk) error {
			c.Text = bytes.Clone(c.Text)
			chunks = append(chunks, c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Every line is reported exactly once outside the overlap, with its number.
		var seen []string
		for _, c := range chunks {
			if !bytes.HasSuffix(c.Text, []byte("\n")) {
				t.Fatalf("size %d: chunk does not end at a line break", tt.size)
			}
			lines := strings.Split(strings.TrimSuffix(string(c.Text), "\n"), "\n")
			if want := fmt.Sprintf("line %04d", c.FirstLine); lines[0] != want {
				t.Fatalf("size %d: first line %q, FirstLine %d", tt.size, lines[0], c.FirstLine)
			}
			skip := strings.Count(string(c.Text[:c.ReportFrom]), "\n")
			seen = append(seen, lines[skip:]...)
			if c.ReportFrom > tt.overlap {
				t.Fatalf("overlap %d > %d", c.ReportFrom, tt.overlap)
			}
		}
		if len(seen) != 1000 || seen[999] != "line 1000" {
			t.Fatalf("size %d: %d lines seen", tt.size, len(seen))
		}
		if whole := len(chunks) == 1; chunks[0].Whole != whole {
			t.Errorf("size %d: Whole = %v", tt.size, chunks[0].Whole)
		}
	}
}

func TestChunksBinary(t *testing.T) {
	_, err := Chunks(bytes.NewReader([]byte("PK\x03\x04\x00\x00binary")), 1024, 64, nil, func(Chunk) error { return nil })
	if !errors.Is(err, ErrBinary) {
		t.Fatalf("err = %v, want ErrBinary", err)
	}
}

const sampleLog = "\x1ecommit 1111111111111111111111111111111111111111\x1fAda\x1fada@example.com\x1f2026-01-02T03:04:05Z\x1fadd config\n" +
	"\n" +
	"diff --git a/app.env b/app.env\n" +
	"new file mode 100644\n" +
	"index 0000000000000000000000000000000000000000..2222222222222222222222222222222222222222\n" +
	"--- /dev/null\n" +
	"+++ b/app.env\n" +
	"@@ -0,0 +1,3 @@\n" +
	"+A=1\n" +
	"+++B=2\n" +
	"+--- C=3\n" +
	"diff --git \"a/dir/sp ace.txt\" \"b/dir/sp ace.txt\"\n" +
	"index 3333333333333333333333333333333333333333..4444444444444444444444444444444444444444 100644\n" +
	"--- \"a/dir/sp ace.txt\"\n" +
	"+++ \"b/dir/sp ace.txt\"\n" +
	"@@ -2 +2 @@ ctx\n" +
	"-old\n" +
	"+new\n" +
	"@@ -10,0 +11,2 @@\n" +
	"+x\n" +
	"+y\n" +
	"\\ No newline at end of file\n" +
	"diff --git a/img.png b/img.png\n" +
	"index 5555555555555555555555555555555555555555..6666666666666666666666666666666666666666 100644\n" +
	"Binary files a/img.png and b/img.png differ\n" +
	"\x1ecommit 7777777777777777777777777777777777777777\x1fBo\x1fbo@example.com\x1f2026-01-03T00:00:00Z\x1fremove\n" +
	"\n" +
	"diff --git a/app.env b/app.env\n" +
	"index 2222222222222222222222222222222222222222..8888888888888888888888888888888888888888 100644\n" +
	"--- a/app.env\n" +
	"+++ b/app.env\n" +
	"@@ -2 +1,0 @@\n" +
	"-++B=2\n"

func TestParseDiff(t *testing.T) {
	var got []string
	err := ParseDiff(strings.NewReader(sampleLog), 0, nil, func(d *Diff) error {
		got = append(got, fmt.Sprintf("%.4s %s %.4s %q %v", d.Commit.Hash, d.Path, d.Blob, d.Text, d.Segs))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`1111 app.env 2222 "A=1\n++B=2\n--- C=3\n" [{0 1}]`,
		`1111 dir/sp ace.txt 4444 "new\nx\ny\n" [{0 2} {1 11}]`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseDiffSplitsLargeFiles(t *testing.T) {
	var b strings.Builder
	b.WriteString("diff --git a/big b/big\n--- /dev/null\n+++ b/big\n@@ -0,0 +1,100 @@\n")
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&b, "+line %03d\n", i)
	}
	var firsts []int
	total := 0
	err := ParseDiff(strings.NewReader(b.String()), 200, nil, func(d *Diff) error {
		if d.Segs[0].File != total+1 {
			t.Errorf("part starts at line %d after %d lines", d.Segs[0].File, total)
		}
		firsts = append(firsts, d.Segs[0].File)
		total += strings.Count(string(d.Text), "\n")
		if len(d.Text) > 210 {
			t.Errorf("diff of %d bytes exceeds the bound", len(d.Text))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 100 || len(firsts) < 2 {
		t.Errorf("total %d lines, parts start at %v", total, firsts)
	}
}

func TestWalkSkips(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.txt", "node_modules/x.js", ".git/config", "go.sum", "img.png", "sub/b.yaml", "sub/skipme/c.txt", "empty.txt"} {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		data := "x"
		if p == "empty.txt" {
			data = ""
		}
		os.WriteFile(full, []byte(data), 0o644)
	}
	var got []string
	err := Walk(dir, func(rel string) bool { return strings.HasPrefix(rel, "sub/skipme") }, func(f File) error {
		got = append(got, f.Rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"a.txt", "sub/b.yaml"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
