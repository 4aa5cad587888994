package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/keyward/keyward/internal/scan/source"
)

// historyCommits is the length of the history both scanners read.
const historyCommits = 5000

// historyReport is the scan of one git history by both tools.
type historyReport struct {
	Repo    string     `json:"repo"`
	Made    string     `json:"made"`
	Commits int        `json:"commits"`
	MB      float64    `json:"mb_added"`
	Compare comparison `json:"comparison"`
	// MB of added lines per CPU-second of each tool's median CPU time.
	KeywardMBPerCPUSecond float64 `json:"keyward_mb_per_cpu_second"`
	PeerMBPerCPUSecond    float64 `json:"gitleaks_mb_per_cpu_second"`
	Ratio                 float64 `json:"mb_per_cpu_second_ratio"`
}

// madeHow says how makeHistory builds the repository, for the report.
const madeHow = "built here with git fast-import from the scanned tree (no network): files of the tree, " +
	"in a fixed shuffled order, added one per commit; every third commit instead edits a file already " +
	"added, replacing, inserting or deleting a run of lines (inserted lines come from another file); " +
	"one branch, deterministic"

// makeHistory writes a repository of commits commits at repo from the
// files under src and returns the bytes of the lines its commits add.
func makeHistory(src, repo string, commits int) (int64, error) {
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && !source.Skipped(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing %s: %w", src, err)
	}
	r := rand.New(rand.NewPCG(5000, 1))
	r.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })

	if out, err := exec.Command("git", "init", "-q", "-b", "main", repo).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("git init: %v: %s", err, out)
	}
	cmd := exec.Command("git", "-C", repo, "fast-import", "--quiet")
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("git fast-import: %w", err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	contents := map[string][]byte{}
	var names []string
	var added int64
	next := 0
	for i := range commits {
		var name, msg string
		if i%3 != 2 || len(names) == 0 {
			// Add the next text file of the tree.
			for next < len(files) && name == "" {
				data, err := os.ReadFile(files[next])
				rel, _ := filepath.Rel(src, files[next])
				next++
				if err != nil || len(data) == 0 || len(data) > 1<<20 || bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
					continue
				}
				name = filepath.ToSlash(rel)
				contents[name] = data
				names = append(names, name)
				added += int64(len(data))
				msg = "Add " + name
			}
		}
		if name == "" {
			name = names[r.IntN(len(names))]
			donor := names[r.IntN(len(names))]
			var n int64
			contents[name], n, msg = edit(r, contents[name], contents[donor])
			added += n
			msg += " in " + name
		}
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Dev %d <dev%d@example.com> %d +0000\ndata %d\n%s\n",
			i%37, i%37, 1700000000+600*i, len(msg), msg)
		fmt.Fprintf(w, "M 644 inline %s\ndata %d\n%s\n", name, len(contents[name]), contents[name])
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("git fast-import: %w: %s", err, stderr.String())
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("git fast-import: %w: %s", err, stderr.String())
	}
	return added, nil
}

// edit changes a run of lines of data: replaces it with lines of donor,
// inserts lines of donor, or deletes it. It returns the new text, the
// bytes of the lines it added and a commit message.
func edit(r *rand.Rand, data, donor []byte) ([]byte, int64, string) {
	lines := strings.SplitAfter(string(data), "\n")
	give := strings.SplitAfter(string(donor), "\n")
	at := r.IntN(len(lines))
	take := func(n int) []string {
		s := r.IntN(len(give))
		return give[s:min(len(give), s+n)]
	}
	var ins []string
	var del int
	var msg string
	switch r.IntN(3) {
	case 0:
		del = 1 + r.IntN(12)
		ins = take(del)
		msg = "Rework a block"
	case 1:
		ins = take(1 + r.IntN(20))
		msg = "Extend"
	default:
		del = 1 + r.IntN(10)
		msg = "Remove dead code"
	}
	del = min(del, len(lines)-at)
	out := make([]string, 0, len(lines)+len(ins))
	out = append(out, lines[:at]...)
	out = append(out, ins...)
	out = append(out, lines[at+del:]...)
	var n int64
	for _, l := range ins {
		n += int64(len(l))
	}
	return []byte(strings.Join(out, "")), n, msg
}

// benchHistory scans the same history with keyward scan --git and
// gitleaks git, each writing its JSON report to a file in work.
func benchHistory(o options, keyward, gitleaks, tree, work string) (historyReport, error) {
	repo := filepath.Join(work, "history")
	progress("scan history: building %d commits from %s in %s", historyCommits, tree, repo)
	added, err := makeHistory(tree, repo, historyCommits)
	if err != nil {
		return historyReport{}, err
	}
	rep := historyReport{Repo: repo, Made: madeHow, Commits: historyCommits, MB: float64(added) / 1e6}
	kw := func() (sample, error) {
		return o.launch.run([]string{keyward, "scan", "--git", "--format", "json", "--output", filepath.Join(work, "keyward-history.json"), repo}, "", "", 1)
	}
	gl := func() (sample, error) {
		return o.launch.run([]string{gitleaks, "git", repo, "--no-banner", "--report-format", "json",
			"--report-path", filepath.Join(work, "gitleaks-history.json"), "--exit-code", "0"}, "", "")
	}
	kws, gls, err := paired(o.scanRuns, func(i int) {
		progress("scan history: %d commits, %.0f MB added, pair %d/%d", rep.Commits, rep.MB, i, o.scanRuns)
	}, kw, gl)
	if err != nil {
		return rep, err
	}
	rep.Compare = compare(o.scanRuns, kws, gls)
	rep.KeywardMBPerCPUSecond = rep.MB / rep.Compare.Keyward.CPUSeconds
	rep.PeerMBPerCPUSecond = rep.MB / rep.Compare.Peer.CPUSeconds
	rep.Ratio = rep.KeywardMBPerCPUSecond / rep.PeerMBPerCPUSecond
	return rep, nil
}
