package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/auditlog"
	"github.com/keyward/keyward/internal/audit/inventory"
)

func logCheck(f *auditFlags) *auditCheck {
	var files []string
	return &auditCheck{
		name:  "log",
		short: "Report who read which Secret, from the API server's audit log",
		long: `Read audit log files (audit.k8s.io/v1 events, one JSON object a line; plain or gzip-compressed,
told by content; a folder stands for the files in it, as a rotated set) and report who read, tried
to read or otherwise touched each Secret: verbs, count, first and last time, response codes.
Requests are counted once, at their last stage, even when rotated copies overlap.

Each successful reader is compared with what today's RBAC allows (as 'keyward audit access' finds
it, the groups the log recorded included): a reader no grant covers is a high finding
(unexpected-reader) - its access was removed since, or came by a path the analysis misses. A
refused attempt is a medium finding (denied-attempt). Impersonated requests count as the
impersonated user, with the real one named. Exec, attach and token requests are listed. A line that
is not an audit event is a low finding (corrupt-line) naming file and line; the rest is still read.
When the cluster cannot be reached, the readers are listed without comparison.

The API server records these events with the policy 'keyward audit policy' prints.`,
		example: `  keyward audit log /var/log/kubernetes/audit/
  keyward audit log audit.log audit-2026-12-01T10-00-00.000.log.gz -o json
  keyward audit --audit-log /var/log/kubernetes/audit/audit.log`,
		need: inventory.RBAC | inventory.ServiceAccounts | inventory.Pods | inventory.SecretNames,
		flags: func(fs *pflag.FlagSet) {
			fs.StringArrayVar(&files, "audit-log", nil, "an audit log file or folder of rotated files for the log check (repeatable)")
		},
		args: func(a []string) { files = append(files, a...) },
		skip: func() string {
			if len(files) == 0 {
				return "no audit log given (--audit-log FILE)"
			}
			return ""
		},
		run: func(ctx context.Context, env *auditEnv) (*audit.Result, error) {
			if len(files) == 0 {
				return nil, errors.New("no audit log given: name files or folders, as 'keyward audit log FILE...'")
			}
			rd, ag := auditlog.NewReader(), auditlog.NewAggregator()
			rd.Progress = func(n int) { env.progress.Update("reading audit log", n, 0) }
			if err := rd.ReadFiles(files, ag.Add); err != nil {
				return nil, err
			}
			opts := auditlog.Options{Namespace: f.namespace}
			rep, err := accessReport(ctx, env)
			if err != nil {
				// The log alone still tells who read what.
				opts.NotCompared = fmt.Sprintf("the cluster's RBAC could not be read: %v", err)
			}
			opts.Access = rep
			return auditlog.Result(rd, ag, opts), nil
		},
	}
}

func auditPolicyCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "policy",
		Short: "Print an audit Policy that records who touches Secrets, never their values",
		Long: `Print a Kubernetes audit Policy (audit.k8s.io/v1) for the API server's --audit-policy-file. It
records every request on Secrets, and exec, attach and ServiceAccount token requests, at Metadata
level: who, what, when and the response code, never a request or response body, so no Secret value
reaches the log. Everything else is not logged. Read the log with 'keyward audit log'.`,
		Example: `  keyward audit policy > /etc/kubernetes/audit-policy.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(s.Out, auditlog.Policy())
			return err
		},
	}
}
