package memtrim

import (
	"golang.org/x/sys/unix"
)

// advise calls madvise(2) on memory the Go heap does not own (the mapped
// executable), hence the raw system call rather than a []byte.
func advise(addr, length uintptr) error {
	for _, advice := range []uintptr{unix.MADV_RANDOM, unix.MADV_DONTNEED} {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, length, advice); errno != 0 {
			return errno
		}
	}
	return nil
}
