// Package auditrun runs the audit checks that need no etcd access inside the
// controller, on a schedule (`keyward controller --enable-audit`), and tells
// a team what it found: keyward_audit_findings{check,severity} for alerts,
// and an Event for every finding that was not there at the previous run, so
// a new reader of a Secret or a plaintext copy shows where people look.
//
// The checks are the same functions `keyward audit` runs; findings carry no
// value, so neither do the metrics or the Events.
package auditrun

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
)

// The audit reads every kind a check may need, cluster-wide, values of
// Secrets included (reuse and exposure compare them by keyed hash).
// +kubebuilder:rbac:groups="",resources=secrets;configmaps;pods;serviceaccounts;events;namespaces,verbs=list
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=list
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=list
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=list

// Check is one check as the controller runs it.
type Check struct {
	Name string
	Need inventory.Need
	Run  func(ctx context.Context, snap *inventory.Snapshot) (*audit.Result, error)
}

// Lister lists the cluster; *inventory.Loader is one.
type Lister interface {
	Load(ctx context.Context, need inventory.Need, o inventory.Options) (*inventory.Snapshot, error)
}

// Runner runs Checks every Interval while it leads.
type Runner struct {
	Lister   Lister
	Checks   []Check
	Interval time.Duration
	Recorder events.EventRecorder
	Metrics  *Metrics
	Log      logr.Logger
	// MaxEvents caps the Events of one run: a first run on a large cluster
	// can find thousands of things, and the metrics count them all anyway.
	MaxEvents int

	// seen holds the previous run's findings, to tell new ones.
	seen map[string]bool
}

// NeedLeaderElection: one replica audits.
func (r *Runner) NeedLeaderElection() bool { return true }

// Start runs the checks now and then every Interval until ctx ends.
func (r *Runner) Start(ctx context.Context) error {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		r.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce lists the cluster once and runs every check on it. A failed list
// or check is logged and counted; the other checks still run.
func (r *Runner) RunOnce(ctx context.Context) {
	start := time.Now()
	var need inventory.Need
	for _, c := range r.Checks {
		need |= c.Need
	}
	snap, err := r.Lister.Load(ctx, need, inventory.Options{})
	if err != nil {
		r.Log.Error(err, "audit: listing the cluster")
		r.Metrics.errors.WithLabelValues("list").Inc()
		return
	}
	seen := map[string]bool{}
	events := 0
	for _, c := range r.Checks {
		res, err := c.Run(ctx, snap)
		if err != nil {
			r.Log.Error(err, "audit check failed", "check", c.Name)
			r.Metrics.errors.WithLabelValues(c.Name).Inc()
			continue
		}
		counts := map[audit.Severity]float64{}
		for _, f := range res.Findings {
			counts[f.Severity]++
			key := f.Check + "\x00" + f.Rule + "\x00" + f.Object.String() + "\x00" + f.Message
			seen[key] = true
			if r.seen[key] || events >= r.MaxEvents || r.Recorder == nil {
				continue
			}
			if obj := regarding(f.Object); obj != nil {
				kind := corev1.EventTypeNormal
				if f.Severity >= audit.Medium {
					kind = corev1.EventTypeWarning
				}
				r.Recorder.Eventf(obj, nil, kind, "AuditFinding", "Audit", "%s (%s/%s, %s)", f.Message, f.Check, f.Rule, f.Severity)
				events++
			}
		}
		for s := audit.Info; s <= audit.Critical; s++ {
			r.Metrics.findings.WithLabelValues(c.Name, s.String()).Set(counts[s])
		}
	}
	r.seen = seen
	r.Metrics.lastRun.SetToCurrentTime()
	r.Metrics.duration.Set(time.Since(start).Seconds())
	r.Log.V(1).Info("audit run done", "findings", len(seen), "events", events, "took", time.Since(start).Round(time.Millisecond))
}

// regarding is the object an Event about o is recorded on: the Secret or
// other named object, else its namespace; nil for cluster-wide findings,
// which the metrics alone carry.
func regarding(o audit.Object) runtime.Object {
	if o.Namespace == "" || o.Namespace == "*" {
		return nil
	}
	meta := metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Name}
	switch {
	case o.Name == "" || o.Name == "*":
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}
	case o.Kind == "Secret" || o.Kind == "":
		return &corev1.Secret{ObjectMeta: meta}
	case o.Kind == "ConfigMap":
		return &corev1.ConfigMap{ObjectMeta: meta}
	case o.Kind == "Pod":
		return &corev1.Pod{ObjectMeta: meta}
	case o.Kind == "ServiceAccount":
		return &corev1.ServiceAccount{ObjectMeta: meta}
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}
}

// Metrics are the audit's Prometheus series.
type Metrics struct {
	findings *prometheus.GaugeVec
	errors   *prometheus.CounterVec
	lastRun  prometheus.Gauge
	duration prometheus.Gauge
}

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "keyward_audit_findings",
			Help: "Findings of the last audit run, by check and severity.",
		}, []string{"check", "severity"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_audit_errors_total",
			Help: "Audit runs in which a check (or the listing, check=\"list\") failed.",
		}, []string{"check"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyward_audit_last_run_timestamp_seconds",
			Help: "When the last audit run ended.",
		}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyward_audit_run_duration_seconds",
			Help: "How long the last audit run took.",
		}),
	}
	for _, c := range []prometheus.Collector{m.findings, m.errors, m.lastRun, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering audit metrics: %w", err)
		}
	}
	return m, nil
}
