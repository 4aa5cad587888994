package memtrim

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// Trim drops the executable's resident pages, and the program keeps
// running (pages come back on demand).
func TestTrimDropsExecutablePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("memtrim is tested on Linux only; this is %s", runtime.GOOS)
	}
	before := rssFileKB(t)
	if err := Trim(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	t.Logf("RssFile %d kB -> %d kB", before, after)
	if after >= before {
		t.Fatalf("RssFile did not shrink: %d kB -> %d kB", before, after)
	}
	// Code paged out is paged back in: formatting, maps and GC still work.
	m := map[string]int{}
	for i := range 1000 {
		m[strconv.Itoa(i)] = i
	}
	runtime.GC()
	if len(m) != 1000 {
		t.Fatal("map lost entries")
	}
}
