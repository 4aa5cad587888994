package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keyward/keyward/internal/scan/kube"
	"github.com/keyward/keyward/internal/scan/source"
)

// ScannerOptions configure a Scanner.
type ScannerOptions struct {
	Engine  *Engine
	Workers int // default GOMAXPROCS
	// ChunkSize bounds the text held per worker; Overlap is how much of a
	// chunk's end is read again with the next one (multi-line secrets).
	ChunkSize, Overlap int
	// MaxStructural is the largest file parsed as a Kubernetes manifest.
	MaxStructural int
}

// Stats count progress; safe to read while a scan runs.
type Stats struct {
	Files, Bytes, Commits, Findings atomic.Int64
}

// Scanner runs an Engine over sources in parallel.
type Scanner struct {
	opts  ScannerOptions
	Stats Stats
	mu    sync.Mutex
	errs  []error
}

// New returns a Scanner with defaults filled in.
func New(o ScannerOptions) *Scanner {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1 << 20
	}
	if o.Overlap <= 0 {
		o.Overlap = 16 << 10
	}
	if o.MaxStructural <= 0 {
		o.MaxStructural = 4 << 20
	}
	return &Scanner{opts: o}
}

func (s *Scanner) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < 100 {
		s.errs = append(s.errs, err)
	}
}

func (s *Scanner) result(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs = append(s.errs, err)
	}
	return errors.Join(s.errs...)
}

// Input is one thing to scan: a path or, with Path "-", Reader.
type Input struct {
	Path   string
	Reader io.Reader
}

// Files scans files and directory trees. skip(rel) prunes paths relative to
// each root. emit is called from one goroutine at a time. The returned error
// joins every per-file problem; findings found meanwhile were emitted.
func (s *Scanner) Files(ctx context.Context, inputs []Input, skip func(string) bool, emit func(Finding)) error {
	emit = s.serialize(emit)
	files := make(chan source.File, 256)
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for f := range files {
				if ctx.Err() != nil {
					continue
				}
				var err error
				buf, err = s.scanFile(f, buf, emit)
				if err != nil {
					s.fail(err)
				}
			}
		}()
	}
	var walkErr error
	for _, in := range inputs {
		if in.Path == "-" {
			if _, err := s.scanReader("stdin", in.Reader, nil, emit); err != nil {
				s.fail(fmt.Errorf("scan stdin: %w", err))
			}
			continue
		}
		err := source.Walk(in.Path, skip, func(f source.File) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			files <- f
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				walkErr = ctx.Err()
				break
			}
			s.fail(err)
		}
	}
	close(files)
	wg.Wait()
	return s.result(walkErr)
}

func (s *Scanner) scanFile(f source.File, buf []byte, emit func(Finding)) ([]byte, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return buf, fmt.Errorf("scan %s: %w", f.Path, err)
	}
	defer fh.Close()
	buf, err = s.scanReader(filepath.ToSlash(f.Path), fh, buf, emit)
	if err != nil {
		return buf, fmt.Errorf("scan %s: %w", f.Path, err)
	}
	return buf, nil
}

func (s *Scanner) scanReader(name string, r io.Reader, buf []byte, emit func(Finding)) ([]byte, error) {
	s.Stats.Files.Add(1)
	buf, err := source.Chunks(r, s.opts.ChunkSize, s.opts.Overlap, buf, func(c source.Chunk) error {
		s.Stats.Bytes.Add(int64(len(c.Text) - c.ReportFrom))
		fr := &Fragment{Path: name, Text: c.Text, ReportFrom: c.ReportFrom,
			Segs: []source.Seg{{Local: 0, File: c.FirstLine}}}
		if c.Whole && len(c.Text) <= s.opts.MaxStructural {
			fr.Full = c.Text
		}
		for _, fd := range s.opts.Engine.Scan(fr) {
			emit(fd)
		}
		return nil
	})
	if errors.Is(err, source.ErrBinary) {
		return buf, nil
	}
	return buf, err
}

func (s *Scanner) serialize(emit func(Finding)) func(Finding) {
	var mu sync.Mutex
	return func(f Finding) {
		mu.Lock()
		defer mu.Unlock()
		s.Stats.Findings.Add(1)
		emit(f)
	}
}

// Git scans the added lines of a repository's history (see source.Log).
func (s *Scanner) Git(ctx context.Context, o source.GitOptions, skip func(string) bool, emit func(Finding)) error {
	o.MaxDiff = s.opts.ChunkSize
	return s.diffs(ctx, o.Repo, skip, emit, func(fn func(*source.Diff) error) error {
		o.OnCommit = func(*source.Commit) { s.Stats.Commits.Add(1) }
		return source.Log(ctx, o, fn)
	})
}

// Staged scans what is staged for commit in repo.
func (s *Scanner) Staged(ctx context.Context, repo string, skip func(string) bool, emit func(Finding)) error {
	return s.diffs(ctx, repo, skip, emit, func(fn func(*source.Diff) error) error {
		return source.Staged(ctx, repo, s.opts.ChunkSize, fn)
	})
}

func (s *Scanner) diffs(ctx context.Context, repo string, skip func(string) bool, emit func(Finding), produce func(func(*source.Diff) error) error) error {
	emit = s.serialize(emit)
	blobs := source.NewBlobs(repo)
	defer blobs.Close()
	ch := make(chan *source.Diff, 2*s.opts.Workers)
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ch {
				if ctx.Err() == nil {
					s.scanDiff(d, blobs, emit)
				}
			}
		}()
	}
	err := produce(func(d *source.Diff) error {
		if source.Skipped(d.Path) || skip != nil && skip(d.Path) || isBinaryText(d.Text) {
			return nil
		}
		select {
		case ch <- d:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(ch)
	wg.Wait()
	return s.result(err)
}

func isBinaryText(b []byte) bool {
	return strings.IndexByte(string(b[:min(len(b), 8000)]), 0) >= 0
}

func (s *Scanner) scanDiff(d *source.Diff, blobs *source.Blobs, emit func(Finding)) {
	s.Stats.Files.Add(1)
	s.Stats.Bytes.Add(int64(len(d.Text)))
	fr := &Fragment{Path: d.Path, Commit: d.Commit, Text: d.Text, Segs: d.Segs}
	// Structural checks need the whole file: a commit that only changes a
	// value under data: still adds a plaintext Secret.
	// Extensionless files (kubeconfigs) are fetched only when the added
	// text itself looks relevant, so scripts and Makefiles cost nothing.
	if d.Blob != "" && kubeCandidate(d.Path) && (path.Ext(d.Path) != "" || kube.Relevant(d.Text)) {
		full, err := blobs.Read(d.Blob, s.opts.MaxStructural)
		if err != nil {
			s.fail(fmt.Errorf("read %s at %s: %w", d.Path, d.Blob, err))
		} else if full != nil {
			fr.Full = full
			fr.Added = addedLines(d)
		}
	}
	for _, fd := range s.opts.Engine.Scan(fr) {
		emit(fd)
	}
}

// addedLines reports whether a file line is among the diff's added lines.
func addedLines(d *source.Diff) func(int) bool {
	total := strings.Count(string(d.Text), "\n")
	return func(line int) bool {
		for i, sg := range d.Segs {
			n := total - sg.Local
			if i+1 < len(d.Segs) {
				n = d.Segs[i+1].Local - sg.Local
			}
			if sg.File <= line && line < sg.File+n {
				return true
			}
		}
		return false
	}
}

// Sort orders findings for stable reports: by file, line, rule, commit.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.StartLine != b.StartLine {
			return a.StartLine < b.StartLine
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return commitHash(a) < commitHash(b)
	})
}

func commitHash(f Finding) string {
	if f.Commit == nil {
		return ""
	}
	return f.Commit.Hash
}

// Redacted is the secret as reports show it: the public type marker at most.
func (f Finding) Redacted() string {
	if f.Public > 0 && len(f.Secret) >= f.Public+8 {
		return f.Secret[:f.Public] + "*****"
	}
	return "*****"
}
