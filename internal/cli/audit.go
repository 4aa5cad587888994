package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
	"github.com/keyward/keyward/internal/version"
)

// auditFlags are the flags every audit check shares.
type auditFlags struct {
	output, failOn, namespace string
	kubeconfig                string
	contexts                  []string
	kube                      kubeFlags
	noProgress                bool
}

func (f *auditFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.output, "output", "o", "table", "output format: "+strings.Join(audit.Formats, ", "))
	fs.StringVar(&f.failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical, or none")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "audit one namespace (default: all)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	fs.StringArrayVar(&f.contexts, "context", nil, "kubeconfig context (repeatable: reuse compares several clusters; other checks read the first)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "print no progress line on long runs")
	f.kube.register(fs)
}

// auditCheck is one check as the command line runs it: alone as `keyward
// audit NAME`, or with the others under `keyward audit`.
type auditCheck struct {
	name, short, long, example string
	// need is what it reads from the cluster through env.snapshot.
	need inventory.Need
	// flags registers the check's own flags.
	flags func(fs *pflag.FlagSet)
	// skip, under `keyward audit`, is why the check cannot run with the
	// flags given ("" runs it). Alone, the check runs and says what is
	// missing itself.
	skip func() string
	// args, when set, takes the subcommand's arguments (files to read).
	args func([]string)
	run  func(ctx context.Context, env *auditEnv) (*audit.Result, error)
}

// auditEnv is what a check runs with: the connection and one listing of the
// cluster, shared by every check of the run.
type auditEnv struct {
	flags    *auditFlags
	getenv   func(string) string
	progress *audit.Progress
	need     inventory.Need

	once sync.Once
	snap *inventory.Snapshot
	err  error
}

// restConfig connects to context ("" is the first --context, else the
// kubeconfig's current one).
func (e *auditEnv) restConfig(context string) (*rest.Config, error) {
	if context == "" && len(e.flags.contexts) > 0 {
		context = e.flags.contexts[0]
	}
	cfg, err := e.flags.kube.restConfig(e.getenv, e.flags.kubeconfig, context)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "keyward-audit/" + version.Get().Version
	return cfg, nil
}

// snapshot lists, once, what every check of the run needs.
func (e *auditEnv) snapshot(ctx context.Context) (*inventory.Snapshot, error) {
	e.once.Do(func() {
		e.snap, e.err = e.load(ctx, "", e.need)
	})
	return e.snap, e.err
}

// load lists need from one context.
func (e *auditEnv) load(ctx context.Context, context string, need inventory.Need) (*inventory.Snapshot, error) {
	cfg, err := e.restConfig(context)
	if err != nil {
		return nil, err
	}
	l, err := inventory.NewLoader(cfg)
	if err != nil {
		return nil, err
	}
	return l.Load(ctx, need, inventory.Options{
		Namespace: e.flags.namespace,
		Progress:  func(kind string, n int) { e.progress.Update("listing "+kind, n, 0) },
	})
}

func newAuditCommand(s Streams, getenv func(string) string) *cobra.Command {
	f := &auditFlags{}
	checks := auditChecks(f)
	var names []string
	for _, c := range checks {
		names = append(names, c.name)
	}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check who can read Secrets, how etcd stores them, and what is stale, reused or exposed",
		Long: `Run every audit check against the cluster of the current kubeconfig context and report.

Checks (each also runs alone as 'keyward audit CHECK'): ` + strings.Join(names, ", ") + `.
Checks that need input the command line did not give (an etcd endpoint, audit log files) are
skipped with a note. No output ever holds a Secret's value. See docs/audit.md.

Exit status: 0 clean, 1 a finding at or above --fail-on, 2 a check failed (the others still report).`,
		Example: `  keyward audit
  keyward audit -n payments -o json
  keyward audit --fail-on medium -o sarif > audit.sarif
  keyward audit access --subject ServiceAccount/team-a/deployer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var run []*auditCheck
			var notes []string
			for _, c := range checks {
				if c.skip != nil {
					if why := c.skip(); why != "" {
						notes = append(notes, c.name+": skipped: "+why)
						continue
					}
				}
				run = append(run, c)
			}
			return runAudit(cmd.Context(), s, getenv, f, run, true, notes)
		},
	}
	f.register(cmd.PersistentFlags())
	for _, c := range checks {
		sub := &cobra.Command{
			Use:     c.name,
			Short:   c.short,
			Long:    c.long + "\n\nExit status: 0 clean, 1 a finding at or above --fail-on, 2 the check failed.",
			Example: c.example,
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if c.args != nil {
					c.args(args)
				}
				return runAudit(cmd.Context(), s, getenv, f, []*auditCheck{c}, false, nil)
			},
		}
		if c.args != nil {
			sub.Use, sub.Args = c.name+" [FILE...]", cobra.ArbitraryArgs
		}
		if c.flags != nil {
			c.flags(sub.Flags())
			c.flags(cmd.Flags())
		}
		cmd.AddCommand(sub)
	}
	for _, sub := range auditCommands(s, getenv, f) {
		cmd.AddCommand(sub)
	}
	return cmd
}

// auditChecks lists the checks, in the order `keyward audit` runs them.
func auditChecks(f *auditFlags) []*auditCheck {
	return []*auditCheck{
		accessCheck(f),
		encryptionCheck(f),
		ageCheck(f),
		reuseCheck(f),
		exposureCheck(f),
		logCheck(f),
	}
}

// auditCommands are the audit subcommands that are not checks.
func auditCommands(s Streams, getenv func(string) string, f *auditFlags) []*cobra.Command {
	return []*cobra.Command{
		auditPolicyCommand(s),
	}
}

func runAudit(ctx context.Context, s Streams, getenv func(string) string, f *auditFlags, checks []*auditCheck, combined bool, notes []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	failOn, err := audit.ParseSeverity(f.failOn)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("--fail-on: %w", err)}
	}
	if !slices.Contains(audit.Formats, f.output) {
		return &ExitError{Code: 2, Err: fmt.Errorf("--output %q: want one of %s", f.output, strings.Join(audit.Formats, ", "))}
	}
	env := &auditEnv{flags: f, getenv: getenv}
	if !f.noProgress {
		env.progress = audit.NewProgress(s.Err, isTerminal(s.Err, getenv), 2*time.Second)
	}
	for _, c := range checks {
		env.need |= c.need
	}
	var results []*audit.Result
	var failed []audit.Failed
	for _, c := range checks {
		r, err := c.run(ctx, env)
		env.progress.Done()
		if err != nil {
			failed = append(failed, audit.Failed{Check: c.name, Error: err.Error()})
			continue
		}
		results = append(results, r)
	}
	for _, fl := range failed {
		fmt.Fprintf(s.Err, "error: audit %s: %s\n", fl.Check, fl.Error)
	}
	// A check run alone that failed prints nothing on stdout, so a JSON
	// reader never takes an empty list for a clean result. `keyward audit`
	// always prints its report, failures and skipped checks in it.
	single := !combined
	if !single || len(results) > 0 {
		rep := audit.Report{Results: results, Skipped: notes, Single: single, Version: version.Get().Version}
		if !single {
			rep.Failed = failed
		}
		if err := audit.Write(s.Out, f.output, rep); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
	}
	if code := audit.ExitCode(results, failed, failOn); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}
