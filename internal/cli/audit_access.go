package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/access"
	"github.com/keyward/keyward/internal/audit/inventory"
)

func accessCheck(f *auditFlags) *auditCheck {
	var subject string
	var allow []string
	return &auditCheck{
		name:  "access",
		short: "List every subject that can read each Secret, and how",
		long: `List every subject that can read each Secret and the chain that lets it: RBAC get, list or
watch on secrets (wildcards and aggregated ClusterRoles included), and the indirect paths RBAC
reviews miss: creating Pods or workloads that mount a Secret, exec or attach into a Pod that mounts
one, impersonation, escalate and bind, minting a token for a ServiceAccount that reads Secrets, the
node authorizer, and system:masters.

One record per (subject, namespace, secret); "*" is every namespace or every Secret. Severity:
critical for groups every user is in, high for readers of every namespace and for all
ServiceAccounts, medium for indirect paths, low for readers of a whole namespace. --allow marks
expected readers (the controller's ServiceAccount, a backup tool): listed, not findings.

Reads RBAC, ServiceAccounts, Pods and Secrets' names (never their values).`,
		example: `  keyward audit access -n payments
  keyward audit access --subject ServiceAccount/team-a/deployer -o json
  keyward audit access --allow ServiceAccount/keyward/keyward --fail-on medium`,
		need: inventory.RBAC | inventory.ServiceAccounts | inventory.Pods | inventory.SecretNames,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&subject, "subject", "", "what can this one read: User/NAME, Group/NAME or ServiceAccount/NAMESPACE/NAME")
			fs.StringArrayVar(&allow, "allow", nil, "an expected reader, as --subject takes it: listed, not a finding (repeatable)")
		},
		run: func(ctx context.Context, env *auditEnv) (*audit.Result, error) {
			opts := access.CheckOptions{Namespace: f.namespace}
			if subject != "" {
				s, err := access.ParseSubject(subject)
				if err != nil {
					return nil, fmt.Errorf("--subject: %w", err)
				}
				opts.Subject = &s
			}
			for _, a := range allow {
				s, err := access.ParseSubject(a)
				if err != nil {
					return nil, fmt.Errorf("--allow: %w", err)
				}
				opts.Allowed = append(opts.Allowed, s)
			}
			rep, err := accessReport(ctx, env)
			if err != nil {
				return nil, err
			}
			return access.Check(rep, opts), nil
		},
	}
}

// accessReport analyses the cluster's RBAC; the access-log check compares
// what the log shows against it.
func accessReport(ctx context.Context, env *auditEnv) (*access.Report, error) {
	snap, err := env.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	env.progress.Update("analysing access", 0, 0)
	return access.Analyze(access.Input{
		ClusterRoles:        snap.ClusterRoles,
		Roles:               snap.Roles,
		ClusterRoleBindings: snap.ClusterRoleBindings,
		RoleBindings:        snap.RoleBindings,
		ServiceAccounts:     snap.ServiceAccounts,
		Pods:                snap.Pods,
		Secrets:             snap.SecretNamesByNamespace(),
	})
}
