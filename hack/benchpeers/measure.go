package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// sample is what one run of a tool cost, as the kernel accounted it for
// the child alone.
type sample struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

// launcher runs the tools being measured through hack/benchpeers/rusage,
// built once into the work folder, so each figure is the tool's own (see
// that command for why the figure of a direct child would not be).
type launcher struct {
	path string // the rusage binary
	work string // where each run's usage file goes
}

// buildLauncher builds the rusage command into work.
func buildLauncher(work string) (launcher, error) {
	l := launcher{path: filepath.Join(work, "rusage"), work: work}
	cmd := exec.Command("go", "build", "-o", l.path, "./hack/benchpeers/rusage")
	if out, err := cmd.CombinedOutput(); err != nil {
		return l, fmt.Errorf("building hack/benchpeers/rusage: %w\n%s", err, out)
	}
	return l, nil
}

// run executes argv with stdin read from the file at stdinPath (empty:
// /dev/null) and stdout written to the file at stdoutPath (empty:
// /dev/null). Files, not pipes, so no copying goroutine of ours shares the
// machine with the child. okExit lists the exit codes that mean the tool
// did its work.
func (l launcher) run(argv []string, stdinPath, stdoutPath string, okExit ...int) (sample, error) {
	if stdinPath == "" {
		stdinPath = os.DevNull
	}
	if stdoutPath == "" {
		stdoutPath = os.DevNull
	}
	in, err := os.Open(stdinPath)
	if err != nil {
		return sample{}, err
	}
	defer in.Close()
	out, err := os.Create(stdoutPath)
	if err != nil {
		return sample{}, err
	}
	defer out.Close()
	errOut, err := os.CreateTemp(l.work, "stderr-")
	if err != nil {
		return sample{}, err
	}
	defer os.Remove(errOut.Name())
	defer errOut.Close()
	usagePath := errOut.Name() + ".usage.json"
	defer os.Remove(usagePath)

	cmd := exec.Command(l.path, append([]string{"-o", usagePath, "--"}, argv...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, errOut
	runErr := cmd.Run()
	if cmd.ProcessState == nil {
		return sample{}, fmt.Errorf("starting %s: %w", argv[0], runErr)
	}
	var u struct {
		WallNanos int64 `json:"wall_ns"`
		CPUNanos  int64 `json:"cpu_ns"`
		MaxRSSKiB int64 `json:"maxrss_kib"`
		Exit      int   `json:"exit"`
	}
	if err := readJSON(usagePath, &u); err != nil {
		msg, _ := os.ReadFile(errOut.Name())
		return sample{}, fmt.Errorf("%v: no usage recorded (%v): %s", argv, err, truncate(msg, 2000))
	}
	ok := u.Exit == 0
	for _, c := range okExit {
		ok = ok || u.Exit == c
	}
	if !ok {
		msg, _ := os.ReadFile(errOut.Name())
		return sample{}, fmt.Errorf("%v: exit %d: %s", argv, u.Exit, truncate(msg, 2000))
	}
	return sample{
		Wall:   time.Duration(u.WallNanos),
		CPU:    time.Duration(u.CPUNanos),
		MaxRSS: u.MaxRSSKiB * 1024,
	}, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// summary is the median of each measure over paired runs, with every run
// kept so a reader can see the spread.
type summary struct {
	WallSeconds float64   `json:"wall_seconds"`
	CPUSeconds  float64   `json:"cpu_seconds"`
	PeakRSSMiB  float64   `json:"peak_rss_mib"`
	Runs        []runJSON `json:"runs"`
}

type runJSON struct {
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
}

func summarize(samples []sample) summary {
	var s summary
	var wall, cpu, rss []float64
	for _, x := range samples {
		r := runJSON{WallSeconds: x.Wall.Seconds(), CPUSeconds: x.CPU.Seconds(), PeakRSSMiB: mib(x.MaxRSS)}
		s.Runs = append(s.Runs, r)
		wall = append(wall, r.WallSeconds)
		cpu = append(cpu, r.CPUSeconds)
		rss = append(rss, r.PeakRSSMiB)
	}
	s.WallSeconds, s.CPUSeconds, s.PeakRSSMiB = median(wall), median(cpu), median(rss)
	return s
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// median of each measure on its own: with an odd count it is a run's value.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// paired runs a and b n times each, alternating which goes first in each
// pair so neither always finds the other's warm caches.
func paired(n int, progress func(i int), a, b func() (sample, error)) (as, bs []sample, err error) {
	for i := 0; i < n; i++ {
		progress(i + 1)
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		x, err := first()
		if err != nil {
			return nil, nil, err
		}
		y, err := second()
		if err != nil {
			return nil, nil, err
		}
		if i%2 == 1 {
			x, y = y, x
		}
		as, bs = append(as, x), append(bs, y)
	}
	return as, bs, nil
}
