package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/scan"
	"github.com/keyward/keyward/internal/scan/baseline"
	"github.com/keyward/keyward/internal/scan/config"
	"github.com/keyward/keyward/internal/scan/source"
	"github.com/keyward/keyward/internal/version"
)

const defaultBaseline = ".keyward-baseline.json"

type scanFlags struct {
	git, staged    bool
	since          string
	configPath     string
	baselinePath   string
	writeBaseline  bool
	format, output string
	noRedact       bool
	workers        int
}

func newScanCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find leaked credentials and plaintext Secret manifests in files or git history",
		Long: `Scan files, directories (PATH, default "."; "-" reads stdin), git history (--git [REPO]) or
the changes staged for commit (--staged [REPO]) for credentials and plaintext Kubernetes Secrets.

Findings are redacted unless --no-redact. Configuration is read from --config, $KEYWARD_SCAN_CONFIG
or .keyward-scan.yaml in the scanned directory or repository; accepted findings from --baseline or
.keyward-baseline.json there. See docs/scan.md.

Exit status: 0 no findings, 1 findings, 2 error (findings found before the error are still reported).`,
		Example: `  keyward scan .
  keyward scan --git --since origin/main --format sarif --output keyward.sarif
  keyward scan --staged
  kubectl get secret -o yaml db | keyward scan -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (f.git || f.staged) && len(args) > 1 {
				return &ExitError{Code: 2, Err: errors.New("--git and --staged take at most one repository path")}
			}
			if f.git && f.staged {
				return &ExitError{Code: 2, Err: errors.New("--git and --staged are exclusive")}
			}
			if f.since != "" && !f.git {
				return &ExitError{Code: 2, Err: errors.New("--since needs --git")}
			}
			if f.since != "" {
				if err := source.CheckRevision(f.since); err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--since: %w", err)}
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), s, getenv, f, args)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: 2, Err: err} })
	fl := cmd.Flags()
	fl.BoolVar(&f.git, "git", false, "scan the added lines of every commit on all refs of the repository")
	fl.StringVar(&f.since, "since", "", "with --git, scan only commits reachable from HEAD and not from `REV`")
	fl.BoolVar(&f.staged, "staged", false, "scan the changes staged for commit (for pre-commit hooks)")
	fl.StringVar(&f.configPath, "config", "", "configuration `FILE` (default $KEYWARD_SCAN_CONFIG or .keyward-scan.yaml)")
	fl.StringVar(&f.baselinePath, "baseline", "", "baseline `FILE` of accepted findings (default .keyward-baseline.json if present)")
	fl.BoolVar(&f.writeBaseline, "write-baseline", false, "accept all current findings: write them to the baseline file and exit 0")
	fl.StringVarP(&f.format, "format", "f", "text", "output format: "+strings.Join(scan.Formats, ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of stdout (mode 0600 with --no-redact)")
	fl.BoolVar(&f.noRedact, "no-redact", false, "show secret values in the report")
	fl.IntVar(&f.workers, "workers", 0, "parallel workers (default: number of CPUs)")
	return cmd
}

func runScan(ctx context.Context, s Streams, getenv func(string) string, f scanFlags, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	usage := func(err error) error { return &ExitError{Code: 2, Err: err} }
	if !validFormat(f.format) {
		return usage(fmt.Errorf("unknown --format %q (want one of %s)", f.format, strings.Join(scan.Formats, ", ")))
	}
	root := "."
	if len(args) > 0 && args[0] != "-" {
		if f.git || f.staged {
			root = args[0]
		} else if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
			root = args[0]
		}
	}

	cfg, err := loadConfig(f.configPath, getenv, root)
	if err != nil {
		return usage(err)
	}
	engine, err := scan.NewEngine(cfg.Rules, cfg.Disabled, scan.Allowlist{Secrets: cfg.Secrets, Stopwords: cfg.Stopwords})
	if err != nil {
		return usage(err)
	}
	bpath, bexplicit := f.baselinePath, f.baselinePath != ""
	if !bexplicit {
		bpath = filepath.Join(root, defaultBaseline)
	}
	var base *baseline.Baseline
	switch {
	case f.writeBaseline:
		if base, err = baseline.LoadOrNew(bpath); err != nil {
			return usage(err)
		}
	default:
		base, err = baseline.Load(bpath)
		if err != nil && (bexplicit || !errors.Is(err, fs.ErrNotExist)) {
			return usage(err)
		}
	}
	salt := baseline.DefaultSalt
	if base != nil {
		salt = base.Salt
	}

	skip := func(rel string) bool {
		for _, re := range cfg.Paths {
			if re.MatchString(rel) {
				return true
			}
		}
		return false
	}
	sc := scan.New(scan.Options{Engine: engine, Workers: f.workers})
	var findings []scan.Finding
	emit := func(fd scan.Finding) { findings = append(findings, fd) }

	stop := startProgress(s.Err, getenv, &sc.Stats)
	switch {
	case f.git:
		err = sc.Git(ctx, source.GitOptions{Repo: root, Since: f.since}, skip, emit)
	case f.staged:
		err = sc.Staged(ctx, root, skip, emit)
	default:
		if len(args) == 0 {
			args = []string{"."}
		}
		inputs := make([]scan.Input, len(args))
		for i, a := range args {
			inputs[i] = scan.Input{Path: a}
			if a == "-" {
				inputs[i].Reader = s.In
			}
		}
		err = sc.Files(ctx, inputs, skip, emit)
	}
	stop()
	scanErr := err

	scan.Sort(findings)
	kept := findings[:0]
	for _, fd := range findings {
		fd.Fingerprint = baseline.Hash(salt, fd.Rule, fd.File, fd.Secret)
		if f.writeBaseline || base == nil || !base.Contains(fd.Rule, fd.File, fd.Fingerprint) {
			kept = append(kept, fd)
		}
	}
	findings = kept

	if f.writeBaseline {
		if scanErr != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("not writing a baseline from an incomplete scan: %w", scanErr)}
		}
		base.Reset()
		for _, fd := range findings {
			base.Add(fd.Rule, fd.File, fd.Fingerprint, fd.StartLine)
		}
		if err := base.Write(bpath); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Fprintf(s.Err, "wrote %d findings to %s\n", len(base.Findings), bpath)
		return nil
	}

	opts := scan.ReportOptions{NoRedact: f.noRedact, ToolVersion: version.Get().Version, Describe: engine.Description}
	if f.output == "" {
		if err := scan.WriteReport(s.Out, f.format, findings, opts); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("write report: %w", err)}
		}
	} else {
		// An unredacted report holds the secrets it found: like unsealed
		// plaintext it is written 0600, whatever mode an older file had.
		mode := publicFile
		if f.noRedact {
			mode = privateFile
		}
		var buf bytes.Buffer
		if err := scan.WriteReport(&buf, f.format, findings, opts); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("write report: %w", err)}
		}
		if err := writeFileAtomic(f.output, buf.Bytes(), mode); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("write report: %w", err)}
		}
	}
	if scanErr != nil {
		fmt.Fprintf(s.Err, "keyward scan: incomplete, %d findings before the error\n", len(findings))
	} else {
		summary(s.Err, sc, len(findings), f.git)
	}
	if scanErr != nil {
		return &ExitError{Code: 2, Err: scanErr}
	}
	if len(findings) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func validFormat(f string) bool {
	for _, x := range scan.Formats {
		if f == x {
			return true
		}
	}
	return false
}

func loadConfig(flag string, getenv func(string) string, root string) (*config.Config, error) {
	path := flag
	if path == "" {
		path = getenv("KEYWARD_SCAN_CONFIG")
	}
	if path == "" {
		p := filepath.Join(root, config.DefaultName)
		if _, err := os.Stat(p); err != nil {
			return config.Default(), nil
		}
		path = p
	}
	return config.Load(path)
}

func summary(w io.Writer, sc *scan.Scanner, n int, git bool) {
	what := fmt.Sprintf("%d files", sc.Stats.Files.Load())
	if git {
		what = fmt.Sprintf("%d commits", sc.Stats.Commits.Load())
	}
	mb := float64(sc.Stats.Bytes.Load()) / 1e6
	switch n {
	case 0:
		fmt.Fprintf(w, "keyward scan: no secrets found (%s, %.1f MB)\n", what, mb)
	case 1:
		fmt.Fprintf(w, "keyward scan: 1 finding (%s, %.1f MB)\n", what, mb)
	default:
		fmt.Fprintf(w, "keyward scan: %d findings (%s, %.1f MB)\n", n, what, mb)
	}
}

// startProgress draws a status line on a terminal (never in CI logs or
// pipes) and returns a function that stops and clears it.
func startProgress(w io.Writer, getenv func(string) string, st *scan.Stats) func() {
	if !isTerminal(w, getenv) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		drawn := false
		for {
			select {
			case <-done:
				if drawn {
					fmt.Fprint(w, "\r\x1b[K")
				}
				return
			case <-t.C:
				drawn = true
				fmt.Fprintf(w, "\r\x1b[Kscanning: %d files, %d commits, %.1f MB, %d findings",
					st.Files.Load(), st.Commits.Load(), float64(st.Bytes.Load())/1e6, st.Findings.Load())
			}
		}
	}()
	return func() { close(done); <-finished }
}
