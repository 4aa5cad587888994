package memtrim

import (
	"os"

	"golang.org/x/sys/unix"
)

// unmapAndRandom drops the resident pages of a range of the mapped
// executable (MADV_DONTNEED) and turns read-ahead off for it (MADV_RANDOM),
// so a page fault reads one page, not megabytes around it. Raw system
// calls: the Go heap does not own that memory.
func unmapAndRandom(addr, length uintptr) error {
	for _, advice := range []uintptr{unix.MADV_DONTNEED, unix.MADV_RANDOM} {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, length, advice); errno != 0 {
			return errno
		}
	}
	return nil
}

// evict drops the file's cached pages that no process maps. The pages
// this process touches next are read back alone, so fault-around, which
// maps only cached pages, has few neighbours to map with them.
func evict(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
