package manager

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/access"
	"github.com/keyward/keyward/internal/audit/age"
	"github.com/keyward/keyward/internal/audit/exposure"
	"github.com/keyward/keyward/internal/audit/inventory"
	"github.com/keyward/keyward/internal/audit/reuse"
	"github.com/keyward/keyward/internal/controller/auditrun"
	"github.com/keyward/keyward/internal/eventrec"
)

// AuditOptions configure the scheduled audit (--enable-audit).
type AuditOptions struct {
	Enabled bool
	// Interval between runs; DefaultAuditInterval when 0.
	Interval time.Duration
	// Allowed are expected readers of Secrets (--audit-allow).
	Allowed []access.Subject
	// MaxEvents caps the Events of one run; 100 when 0.
	MaxEvents int
	// MaxAge is the age check's limit (its default when 0).
	MaxAge time.Duration
}

// DefaultAuditInterval is how often the audit runs unless told otherwise.
const DefaultAuditInterval = time.Hour

// auditChecks are the checks that need no etcd access and no input but the
// cluster, as `keyward audit` runs them. key keys the in-memory hashes that
// reuse and exposure compare values by; it never leaves the process.
func auditChecks(o AuditOptions, key []byte) []auditrun.Check {
	return []auditrun.Check{
		{Name: "access", Need: inventory.RBAC | inventory.ServiceAccounts | inventory.Pods | inventory.SecretNames,
			Run: func(_ context.Context, s *inventory.Snapshot) (*audit.Result, error) {
				rep, err := access.Analyze(access.Input{
					ClusterRoles: s.ClusterRoles, Roles: s.Roles,
					ClusterRoleBindings: s.ClusterRoleBindings, RoleBindings: s.RoleBindings,
					ServiceAccounts: s.ServiceAccounts, Pods: s.Pods, Secrets: s.SecretNamesByNamespace(),
				})
				if err != nil {
					return nil, err
				}
				return access.Check(rep, access.CheckOptions{Allowed: o.Allowed}), nil
			}},
		{Name: "age", Need: inventory.SecretNames | inventory.SecretHistory,
			Run: func(_ context.Context, s *inventory.Snapshot) (*audit.Result, error) {
				return age.Check(s, age.Options{MaxAge: o.MaxAge}), nil
			}},
		{Name: "reuse", Need: inventory.SecretValues,
			Run: func(_ context.Context, s *inventory.Snapshot) (*audit.Result, error) {
				return reuse.Check([]reuse.Input{{Snapshot: s}}, reuse.Options{Key: key})
			}},
		{Name: "exposure", Need: inventory.SecretValues | inventory.ConfigMaps | inventory.Events | inventory.Pods | inventory.Workloads | inventory.NetworkPolicies,
			Run: func(_ context.Context, s *inventory.Snapshot) (*audit.Result, error) {
				return exposure.Check(s, exposure.Options{Key: key})
			}},
	}
}

// addAudit adds the scheduled audit to mgr.
func addAudit(mgr ctrl.Manager, opts Options) error {
	if len(opts.WatchNamespaces) > 0 {
		return errors.New("--enable-audit reads the whole cluster's RBAC and Secrets; it cannot run in a controller limited by --watch-namespaces")
	}
	o := opts.Audit
	if o.Interval <= 0 {
		o.Interval = DefaultAuditInterval
	}
	if o.MaxEvents == 0 {
		o.MaxEvents = 100
	}
	lister, err := inventory.NewLoader(opts.Config)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	rec, err := eventrec.For(mgr, "keyward-audit")
	if err != nil {
		return err
	}
	metrics, err := auditrun.NewMetrics(registerer(opts.Registry))
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("audit: hash key: %w", err)
	}
	return mgr.Add(&auditrun.Runner{
		Lister: lister, Checks: auditChecks(o, key), Interval: o.Interval,
		Recorder: rec, Metrics: metrics, MaxEvents: o.MaxEvents,
		Log: mgr.GetLogger().WithName("audit"),
	})
}
