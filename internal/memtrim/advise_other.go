//go:build !linux

package memtrim

func advise(addr, length uintptr) error { return nil }
