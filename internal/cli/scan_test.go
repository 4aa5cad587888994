package cli

import (
	"bytes"
	"os"
	"testing"

	"github.com/keyward/keyward/internal/scan"
)

// Progress is for people at a terminal: never into pipes, files or CI logs.
func TestProgressOnlyOnTerminal(t *testing.T) {
	var st scan.Stats
	var buf bytes.Buffer
	startProgress(&buf, func(string) string { return "" }, &st)()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	startProgress(w, func(string) string { return "" }, &st)()
	w.Close()
	rest, _ := new(bytes.Buffer).ReadFrom(r)
	if buf.Len() != 0 || rest != 0 {
		t.Errorf("progress written to a non-terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		stop := startProgress(tty, func(k string) string {
			if k == "CI" {
				return "true"
			}
			return ""
		}, &st)
		stop()
	}
}
