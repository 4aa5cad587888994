// Package memtrim keeps a long-running process's resident memory close to
// what it uses. The keyward binary is large (every provider's SDK is linked
// in) and package initialisation touches pages all over its code and
// read-only data. Worse, the kernel maps more than is touched: each page
// fault maps the neighbouring pages already in the page cache too
// (fault-around), and each read from disk brings megabytes of read-ahead
// into that cache. A controller that touches a few megabytes of its binary
// can so hold tens of megabytes of it.
//
// Those pages are clean copies of the executable file. Release drops them
// from the process, drops those no process maps from the page cache, and
// turns read-ahead off for the executable's mappings; from then on a page
// comes back only when the program touches it, and fault-around finds few
// cached neighbours to map with it. The cost is a read from disk (or the
// host's cache) per page the program uses again.
//
// Linux only; elsewhere Release does nothing.
package memtrim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Trimmer releases the executable's read-only pages.
type Trimmer struct {
	exe     string
	regions [][2]uintptr // read-only private mappings of the executable
}

// New finds the executable's code and read-only data mappings. Where there
// is no /proc it returns a Trimmer that does nothing.
func New() (*Trimmer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("memtrim: %w", err)
	}
	t := &Trimmer{exe: exe}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return t, nil // not Linux: nothing to do
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-02344000 r-xp 00000000 fe:00 10848678  /path/to/keyward
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		// Only read-only private mappings: code and constant data. The
		// writable data segment holds the program's variables.
		if perm := fields[1]; perm[1] != '-' || perm[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		t.regions = append(t.regions, [2]uintptr{uintptr(start), uintptr(end)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("memtrim: reading /proc/self/maps: %w", err)
	}
	return t, nil
}

// Release unmaps the executable's resident code and read-only data pages,
// evicts the executable's cached pages that no process maps, and turns
// read-ahead off for its mappings. Pages in use come back on their next
// access, one at a time.
func (t *Trimmer) Release() error {
	if len(t.regions) == 0 {
		return nil
	}
	for _, r := range t.regions {
		if err := unmapAndRandom(r[0], r[1]-r[0]); err != nil {
			return fmt.Errorf("memtrim: %s: %w", t.exe, err)
		}
	}
	if err := evict(t.exe); err != nil {
		return fmt.Errorf("memtrim: evicting %s from the page cache: %w", t.exe, err)
	}
	return nil
}
