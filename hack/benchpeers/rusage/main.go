// Command rusage runs a command and writes what the kernel accounted for
// it (wall time, user+system CPU, peak RSS) as JSON to a file, then exits
// with the command's status.
//
// bench-peers runs each tool through it because Linux's ru_maxrss is not
// the tool's alone: exec keeps the larger of the new image's peak and the
// peak of the memory it replaced, and a child forked by a large process
// (bench-peers links Kubernetes clients) starts from that process's memory.
// This launcher is small, so the figure a tool gets is its own.
//
// Usage: rusage -o FILE -- COMMAND [ARG...]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

type usage struct {
	WallNanos int64 `json:"wall_ns"`
	CPUNanos  int64 `json:"cpu_ns"`
	MaxRSSKiB int64 `json:"maxrss_kib"`
	Exit      int   `json:"exit"`
}

func main() {
	out := flag.String("o", "", "file to write the usage to, as JSON")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rusage -o FILE -- COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(2)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "rusage: no rusage on this platform")
		os.Exit(2)
	}
	u := usage{
		WallNanos: wall.Nanoseconds(),
		CPUNanos:  ru.Utime.Nano() + ru.Stime.Nano(),
		MaxRSSKiB: ru.Maxrss, // Linux reports KiB
		Exit:      cmd.ProcessState.ExitCode(),
	}
	b, _ := json.Marshal(u)
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(2)
	}
	os.Exit(u.Exit)
}
