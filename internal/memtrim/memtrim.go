// Package memtrim keeps a long-running process's resident memory close to
// what it uses. The keyward binary is large (every provider's SDK is linked
// in) and package initialisation touches pages all over its code and
// read-only data; the kernel's fault-around then maps their neighbours too.
// Those pages are clean copies of the executable file, so dropping them from
// the process costs nothing but a page fault if one is needed again.
//
// Linux only; elsewhere Trim does nothing.
package memtrim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Trim unmaps the executable's resident code and read-only data pages; those
// still in use come back on their next access. Call it once start-up work is
// done: called before, it was measured to raise the peak, not lower it.
func Trim() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("memtrim: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil // not Linux: nothing to do
	}
	defer f.Close()
	var regions [][2]uintptr
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
		regions = append(regions, [2]uintptr{uintptr(start), uintptr(end)})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("memtrim: reading /proc/self/maps: %w", err)
	}
	for _, r := range regions {
		if err := advise(r[0], r[1]-r[0]); err != nil {
			return fmt.Errorf("memtrim: %w", err)
		}
	}
	return nil
}
