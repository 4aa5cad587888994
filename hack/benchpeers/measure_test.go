package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A tool run by bench-peers gets its own peak RSS, not bench-peers': the
// test holds 256 MiB of touched memory while the launcher runs a small
// command, whose figure must stay far below that.
func TestLauncherReportsTheToolsOwnPeak(t *testing.T) {
	if err := os.Chdir(filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(filepath.Join("hack", "benchpeers")) })
	l, err := buildLauncher(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	s, err := l.run([]string{"/bin/sh", "-c", "exit 3"}, "", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxRSS <= 0 || s.MaxRSS > 64<<20 {
		t.Errorf("peak RSS of sh: %d bytes, want a few MiB (this process holds %d)", s.MaxRSS, len(ballast))
	}
	if _, err := l.run([]string{"/bin/sh", "-c", "exit 4"}, "", "", 3); err == nil {
		t.Error("exit 4 was taken for success")
	}
	if ballast[len(ballast)-1] != byte(len(ballast)-1) {
		t.Fatal("ballast changed")
	}
}
