// Package proc holds what the test servers run as child processes share:
// stopping one gently, and quoting the end of its log in a failure.
package proc

import (
	"os"
	"strings"
	"syscall"
	"time"
)

// Stop sends p SIGTERM and waits up to grace for exited (which receives
// the result of its Wait); a process still running then is killed.
func Stop(p *os.Process, exited <-chan error, grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}

// Tail returns the last n lines of text.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TailFile returns the last n lines of the file at path, or nothing when it
// does not read.
func TailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return Tail(string(data), n)
}
