package memtrim

import (
	"golang.org/x/sys/unix"
)

// advise drops the pages of a range of the mapped executable with
// madvise(MADV_DONTNEED); the raw system call, since the Go heap does not
// own that memory. (MADV_RANDOM as well was measured to leave more of the
// binary resident later, not less.)
func advise(addr, length uintptr) error {
	for _, advice := range []uintptr{unix.MADV_DONTNEED} {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, length, advice); errno != 0 {
			return errno
		}
	}
	return nil
}
