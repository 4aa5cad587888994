package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keyward/keyward/internal/scan/baseline"
	"github.com/keyward/keyward/internal/scan/config"
	"github.com/keyward/keyward/internal/scan/source"
)

// DefaultBaseline is the baseline file looked for in the scanned directory
// or repository when none is named.
const DefaultBaseline = ".keyward-baseline.json"

// Options say what Run scans and how.
type Options struct {
	// Paths are files and directories to scan, "-" for Stdin; default ".".
	// With Git or Staged it holds at most the repository (default ".").
	Paths []string
	Stdin io.Reader
	// Git scans the added lines of every commit on all refs, or with Since
	// only the commits reachable from HEAD and not from Since. Staged scans
	// the changes staged for commit.
	Git, Staged bool
	Since       string
	// ConfigPath names the configuration; empty looks for config.DefaultName
	// in the scanned directory or repository, else uses the built-in rules.
	ConfigPath string
	// BaselinePath names the baseline of accepted findings; empty uses
	// DefaultBaseline in the scanned directory or repository if it exists.
	BaselinePath string
	// WriteBaseline accepts every current finding: the baseline is rewritten
	// with them (keeping its salt) instead of filtering them out.
	WriteBaseline bool
	Workers       int
	// Progress, if set, gets the live counters when scanning starts; the
	// function it returns is called when scanning ends, before any output.
	Progress func(*Stats) (stop func())
}

// Result is what a scan found.
type Result struct {
	// Findings are sorted and fingerprinted; those the baseline accepts are
	// left out (with WriteBaseline, they are all there).
	Findings []Finding
	// Err says the scan is incomplete; Findings holds what was found before.
	Err error
	// Files, Commits and Bytes count what was read.
	Files, Commits, Bytes int64
	// BaselineWritten is the baseline file written with WriteBaseline, and
	// BaselineEntries how many entries it holds.
	BaselineWritten string
	BaselineEntries int

	engine *Engine
}

// Report writes the findings in format (one of Formats). Rule descriptions
// come from the rules the scan ran, unless o.Describe says otherwise.
func (r *Result) Report(w io.Writer, format string, o ReportOptions) error {
	if o.Describe == nil && r.engine != nil {
		o.Describe = r.engine.Description
	}
	return WriteReport(w, format, r.Findings, o)
}

// CheckRevision rejects a --since revision git would read as an option.
func CheckRevision(rev string) error { return source.CheckRevision(rev) }

// Run loads the configuration and baseline, scans the chosen source and
// filters what it found through the baseline, or writes the baseline.
// A returned error means nothing useful was found; a scan that failed part
// way returns its findings with Result.Err set.
func Run(ctx context.Context, o Options) (Result, error) {
	root := scanRoot(o)
	cfg, err := loadConfig(o.ConfigPath, root)
	if err != nil {
		return Result{}, err
	}
	engine, err := NewEngine(cfg.Rules, cfg.Disabled, Allowlist{Secrets: cfg.Secrets, Stopwords: cfg.Stopwords})
	if err != nil {
		return Result{}, err
	}
	bpath := o.BaselinePath
	if bpath == "" {
		bpath = filepath.Join(root, DefaultBaseline)
	}
	base, err := loadBaseline(bpath, o.BaselinePath != "", o.WriteBaseline)
	if err != nil {
		return Result{}, err
	}

	sc := New(ScannerOptions{Engine: engine, Workers: o.Workers})
	var findings []Finding
	emit := func(fd Finding) { findings = append(findings, fd) }
	skip := func(rel string) bool {
		for _, re := range cfg.Paths {
			if re.MatchString(rel) {
				return true
			}
		}
		return false
	}
	stop := func() {}
	if o.Progress != nil {
		stop = o.Progress(&sc.Stats)
	}
	switch {
	case o.Git:
		err = sc.Git(ctx, source.GitOptions{Repo: root, Since: o.Since}, skip, emit)
	case o.Staged:
		err = sc.Staged(ctx, root, skip, emit)
	default:
		err = sc.Files(ctx, inputs(o), skip, emit)
	}
	stop()

	res := Result{Err: err, engine: engine,
		Files: sc.Stats.Files.Load(), Commits: sc.Stats.Commits.Load(), Bytes: sc.Stats.Bytes.Load()}
	salt := baseline.DefaultSalt
	if base != nil {
		salt = base.Salt
	}
	Sort(findings)
	for _, fd := range findings {
		fd.Fingerprint = baseline.Hash(salt, fd.Rule, fd.File, fd.Secret)
		if o.WriteBaseline || base == nil || !base.Contains(fd.Rule, fd.File, fd.Fingerprint) {
			res.Findings = append(res.Findings, fd)
		}
	}
	if !o.WriteBaseline {
		return res, nil
	}
	if res.Err != nil {
		return res, fmt.Errorf("not writing a baseline from an incomplete scan: %w", res.Err)
	}
	base.Reset()
	for _, fd := range res.Findings {
		base.Add(fd.Rule, fd.File, fd.Fingerprint, fd.StartLine)
	}
	if err := base.Write(bpath); err != nil {
		return res, err
	}
	res.BaselineWritten, res.BaselineEntries = bpath, len(base.Findings)
	return res, nil
}

// scanRoot is where configuration and baseline are looked for: the
// repository, or the first path when it is a directory, else ".".
func scanRoot(o Options) string {
	if len(o.Paths) == 0 || o.Paths[0] == "-" {
		return "."
	}
	if o.Git || o.Staged {
		return o.Paths[0]
	}
	if st, err := os.Stat(o.Paths[0]); err == nil && st.IsDir() {
		return o.Paths[0]
	}
	return "."
}

func inputs(o Options) []Input {
	paths := o.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	in := make([]Input, len(paths))
	for i, p := range paths {
		in[i] = Input{Path: p}
		if p == "-" {
			in[i].Reader = o.Stdin
		}
	}
	return in
}

func loadConfig(path, root string) (*config.Config, error) {
	if path == "" {
		p := filepath.Join(root, config.DefaultName)
		if _, err := os.Stat(p); err != nil {
			return config.Default(), nil
		}
		path = p
	}
	return config.Load(path)
}

// loadBaseline reads the baseline at path. A default path that does not
// exist means no baseline, or a new one when it is to be written.
func loadBaseline(path string, explicit, write bool) (*baseline.Baseline, error) {
	if write {
		return baseline.LoadOrNew(path)
	}
	b, err := baseline.Load(path)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
