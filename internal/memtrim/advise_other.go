//go:build !linux

package memtrim

func unmapAndRandom(addr, length uintptr) error { return nil }

func evict(path string) error { return nil }
