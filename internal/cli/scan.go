package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/scan"
	"github.com/keyward/keyward/internal/version"
)

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
				if err := scan.CheckRevision(f.since); err != nil {
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
	if !slices.Contains(scan.Formats, f.format) {
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown --format %q (want one of %s)", f.format, strings.Join(scan.Formats, ", "))}
	}
	configPath := f.configPath
	if configPath == "" {
		configPath = getenv("KEYWARD_SCAN_CONFIG")
	}
	res, err := scan.Run(ctx, scan.Options{
		Paths: args, Stdin: s.In,
		Git: f.git, Staged: f.staged, Since: f.since,
		ConfigPath: configPath, BaselinePath: f.baselinePath, WriteBaseline: f.writeBaseline,
		Workers:  f.workers,
		Progress: func(st *scan.Stats) func() { return startProgress(s.Err, getenv, st) },
	})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if f.writeBaseline {
		fmt.Fprintf(s.Err, "wrote %d findings to %s\n", res.BaselineEntries, res.BaselineWritten)
		return nil
	}

	opts := scan.ReportOptions{NoRedact: f.noRedact, ToolVersion: version.Get().Version}
	if f.output == "" {
		if err := res.Report(s.Out, f.format, opts); err != nil {
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
		if err := res.Report(&buf, f.format, opts); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("write report: %w", err)}
		}
		if err := writeFileAtomic(f.output, buf.Bytes(), mode); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("write report: %w", err)}
		}
	}
	if res.Err != nil {
		fmt.Fprintf(s.Err, "keyward scan: incomplete, %d findings before the error\n", len(res.Findings))
		return &ExitError{Code: 2, Err: res.Err}
	}
	summary(s.Err, res, f.git)
	if len(res.Findings) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func summary(w io.Writer, res scan.Result, git bool) {
	what := fmt.Sprintf("%d files", res.Files)
	if git {
		what = fmt.Sprintf("%d commits", res.Commits)
	}
	mb := float64(res.Bytes) / 1e6
	n := len(res.Findings)
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
