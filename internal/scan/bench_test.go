package scan_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/scan"
	"github.com/keyward/keyward/internal/scan/source"
)

// cpuClock is user+system CPU time of this process and its waited-for
// children (git), the figure that stays stable on a shared machine.
func cpuClock() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// report adds MB per CPU-second and peak RSS to a benchmark's output.
func report(b *testing.B, bytes int64, cpu time.Duration) {
	mb := float64(bytes) / 1e6 * float64(b.N)
	b.ReportMetric(mb/cpu.Seconds(), "MB/cpu-s")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

func benchScanner(b *testing.B) *scan.Scanner {
	b.Helper()
	return newScanner(b)
}

// syntheticTree writes Go, YAML and env files that look like a service
// repository: mostly ordinary code with keywords everywhere, a few secrets.
func syntheticTree(b *testing.B, dir string, files, linesPerFile int) int64 {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	templates := []string{
		"func (c *Client) Token(ctx context.Context, key string) (string, error) { return c.cache.Get(key) }\n",
		"\tif err := validateSecretName(secret.Name); err != nil { return fmt.Errorf(\"secret %s: %w\", key, err) }\n",
		"  password: ${DB_PASSWORD}\n",
		"  apiKey: {{ .Values.apiKey | quote }}\n",
		"// The token is refreshed by the auth provider before it expires.\n",
		"\tfor i, k := range keys { out[i] = strings.ToLower(k) }\n",
		"image: ghcr.io/acme/api:1.4.2@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
		"\tlog.Info(\"rotated credentials\", \"secretRef\", ref, \"keyID\", id)\n",
	}
	var total int64
	for i := range files {
		var buf bytes.Buffer
		for range linesPerFile {
			if r.IntN(2000) == 0 {
				fmt.Fprintf(&buf, "AWS_ID=AKIA%s\n", strings.Repeat("Q", 0)+"Z5XQ7RBK2JMWNOP4")
				continue
			}
			buf.WriteString(templates[r.IntN(len(templates))])
		}
		ext := []string{".go", ".yaml", ".env"}[i%3]
		p := filepath.Join(dir, fmt.Sprintf("pkg%02d", i%50), fmt.Sprintf("file%04d%s", i, ext))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(buf.Len())
	}
	return total
}

// BenchmarkSyntheticTree scans ~40 MB of generated source files.
func BenchmarkSyntheticTree(b *testing.B) {
	dir := b.TempDir()
	size := syntheticTree(b, dir, 600, 1000)
	s := benchScanner(b)
	b.SetBytes(size)
	b.ResetTimer()
	start := cpuClock()
	for b.Loop() {
		if err := s.Files(context.Background(), []scan.Input{{Path: dir}}, nil, func(scan.Finding) {}); err != nil {
			b.Fatal(err)
		}
	}
	report(b, size, cpuClock()-start)
}

func kubernetesTree() string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err == nil {
			cache = strings.TrimSpace(string(out))
		}
	}
	return filepath.Join(cache, "k8s.io", "kubernetes@v1.37.2")
}

func treeSize(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !source.Skipped(p) {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkKubernetesTree scans the k8s.io/kubernetes v1.37.2 module source
// (about 100 MB, 9,000 files), the tree scanners.md measured gitleaks on.
func BenchmarkKubernetesTree(b *testing.B) {
	root := kubernetesTree()
	if _, err := os.Stat(root); err != nil {
		b.Skipf("%s is absent (go mod download k8s.io/kubernetes@v1.37.2 to run this benchmark)", root)
	}
	size := treeSize(root)
	s := benchScanner(b)
	b.SetBytes(size)
	b.ResetTimer()
	start := cpuClock()
	found := 0
	for b.Loop() {
		found = 0
		if err := s.Files(context.Background(), []scan.Input{{Path: root}}, nil, func(scan.Finding) { found++ }); err != nil {
			b.Fatal(err)
		}
	}
	report(b, size, cpuClock()-start)
	b.ReportMetric(float64(found), "findings")
}

// makeHistory builds a repository with a long history through git
// fast-import: files of src (or generated text) are added one per commit,
// and every third commit also appends lines to an earlier file. It returns
// the bytes of added lines.
func makeHistory(tb testing.TB, repo, src string, commits int) int64 {
	tb.Helper()
	if out, err := exec.Command("git", "init", "-q", "-b", "main", repo).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v: %s", err, out)
	}
	var files []string
	if src != "" {
		filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !source.Skipped(p) && len(files) < commits {
				files = append(files, p)
			}
			return nil
		})
	}
	cmd := exec.Command("git", "-C", repo, "fast-import", "--quiet")
	in, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	r := rand.New(rand.NewPCG(3, 4))
	var added int64
	contents := map[string][]byte{}
	var names []string
	for i := range commits {
		var name string
		var data []byte
		if i < len(files) {
			rel, _ := filepath.Rel(src, files[i])
			name = filepath.ToSlash(rel)
			data, _ = os.ReadFile(files[i])
		} else {
			name = fmt.Sprintf("gen/file%05d.go", i)
			data = []byte(strings.Repeat("func f(key string) string { return token[key] }\n", 200))
		}
		if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			data = []byte("binary\n")
		}
		contents[name] = data
		names = append(names, name)
		added += int64(len(data))
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata 12\ncommit %05d\n", 1700000000+i, i)
		fmt.Fprintf(w, "M 644 inline %s\ndata %d\n%s\n", name, len(data), data)
		if i%3 == 2 {
			old := names[r.IntN(len(names))]
			extra := fmt.Sprintf("// change %d: the token cache key is derived from the secret name\nvar v%d = %d\n", i, i, i)
			if i%997 == 0 {
				extra += "AWS_ID=AKIAZ5XQ7RBK2JMWNOP4\n"
			}
			contents[old] = append(contents[old], extra...)
			added += int64(len(extra))
			fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata 12\nchange %05d\n", 1700000000+i, i)
			fmt.Fprintf(w, "M 644 inline %s\ndata %d\n%s\n", old, len(contents[old]), contents[old])
		}
	}
	w.Flush()
	in.Close()
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("fast-import: %v", err)
	}
	return added
}

// BenchmarkGitHistory scans a long history: the k8s.io/kubernetes tree
// replayed as about 12,000 commits (or generated text without it). Set
// KEYWARD_BENCH_HISTORY to a directory to keep the repository for timing
// the binary.
func BenchmarkGitHistory(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is not installed")
	}
	repo := os.Getenv("KEYWARD_BENCH_HISTORY")
	if repo == "" {
		repo = filepath.Join(b.TempDir(), "history")
	}
	src := kubernetesTree()
	if _, err := os.Stat(src); err != nil {
		src = ""
	}
	var added int64
	if _, err := os.Stat(filepath.Join(repo, ".git")); err == nil {
		added = addedBytes(b, repo)
	} else {
		added = makeHistory(b, repo, src, 9000)
	}
	s := benchScanner(b)
	b.SetBytes(added)
	b.ResetTimer()
	start := cpuClock()
	for b.Loop() {
		if err := s.Git(context.Background(), source.GitOptions{Repo: repo}, nil, func(scan.Finding) {}); err != nil {
			b.Fatal(err)
		}
	}
	report(b, added, cpuClock()-start)
	b.ReportMetric(float64(s.Stats.Commits.Load())/float64(b.N), "commits")
}

func addedBytes(tb testing.TB, repo string) int64 {
	var n int64
	err := source.Log(context.Background(), source.GitOptions{Repo: repo}, func(d *source.Diff) error {
		n += int64(len(d.Text))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
