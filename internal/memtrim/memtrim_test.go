package memtrim

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// Release drops the executable's resident pages, and the program keeps
// running (pages come back on demand).
func TestReleaseDropsExecutablePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("memtrim is tested on Linux only; this is %s", runtime.GOOS)
	}
	trimmer, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if len(trimmer.regions) == 0 {
		t.Fatal("found no read-only mapping of the executable in /proc/self/maps")
	}
	before := rssFileKB(t)
	if err := trimmer.Release(); err != nil {
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

// cachedPages counts the file's pages in the page cache (mincore on a
// mapping of our own, which the count does not disturb).
func cachedPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// Release also evicts the executable's cached pages nobody maps, so pages
// fault back in one by one instead of with their cached neighbours.
func TestReleaseEvictsTheExecutableFromThePageCache(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Read the whole file so all of it is cached to begin with.
	if _, err := os.ReadFile(exe); err != nil {
		t.Fatal(err)
	}
	before := cachedPages(t, exe)
	trimmer, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := trimmer.Release(); err != nil {
		t.Fatal(err)
	}
	mapped := rssFileKB(t) * 1024 / os.Getpagesize()
	after := cachedPages(t, exe)
	t.Logf("cached pages of %s: %d -> %d (%d mapped by this process)", exe, before, after, mapped)
	// What stays cached is what this process still maps (its writable data,
	// code touched since) and the rest of the large folios those pages sit in.
	if after > before*3/4 {
		t.Fatalf("page cache kept %d of %d pages of the executable; the process maps %d", after, before, mapped)
	}
}
