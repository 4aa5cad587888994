package auditrun

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
)

type lister struct{ err error }

func (l lister) Load(context.Context, inventory.Need, inventory.Options) (*inventory.Snapshot, error) {
	return &inventory.Snapshot{}, l.err
}

// recorder keeps "namespace/name: note" of every Event.
type recorder struct{ got []string }

func (r *recorder) Eventf(obj, _ runtime.Object, _, _, _ string, note string, args ...any) {
	m, _ := meta.Accessor(obj)
	r.got = append(r.got, m.GetNamespace()+"/"+m.GetName()+": "+fmt.Sprintf(note, args...))
}

func finding(ns, name string, sev audit.Severity) audit.Finding {
	return audit.Finding{Check: "access", Rule: "r", Severity: sev,
		Object: audit.Object{Kind: "Secret", Namespace: ns, Name: name}, Message: "reader of " + name}
}

func TestRunOnceCountsAndTellsNewFindings(t *testing.T) {
	var findings []audit.Finding
	failing := false
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r := &Runner{
		Lister: lister{}, Recorder: rec, Metrics: m, Log: logr.Discard(), MaxEvents: 2,
		Checks: []Check{
			{Name: "access", Run: func(context.Context, *inventory.Snapshot) (*audit.Result, error) {
				return &audit.Result{Check: "access", Findings: findings}, nil
			}},
			{Name: "exposure", Run: func(context.Context, *inventory.Snapshot) (*audit.Result, error) {
				if failing {
					return nil, errors.New("boom")
				}
				return &audit.Result{Check: "exposure"}, nil
			}},
		},
	}
	ctx := context.Background()

	findings = []audit.Finding{finding("a", "db", audit.High), finding("a", "api", audit.Low), finding("*", "*", audit.High)}
	r.RunOnce(ctx)
	if got := testutil.ToFloat64(m.findings.WithLabelValues("access", "high")); got != 2 {
		t.Errorf("high findings = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.findings.WithLabelValues("access", "low")); got != 1 {
		t.Errorf("low findings = %v, want 1", got)
	}
	// The cluster-wide finding has no object to record on.
	if len(rec.got) != 2 {
		t.Fatalf("first run: events %q, want two", rec.got)
	}

	// The same findings again: nothing new to tell.
	rec.got = nil
	r.RunOnce(ctx)
	if len(rec.got) != 0 {
		t.Errorf("second run told old findings again: %q", rec.got)
	}

	// One new reader, one gone; a failing check is counted, the other runs.
	findings = []audit.Finding{finding("a", "db", audit.High), finding("b", "cache", audit.Medium)}
	failing = true
	r.RunOnce(ctx)
	if len(rec.got) != 1 || rec.got[0] != "b/cache: reader of cache (access/r, medium)" {
		t.Errorf("third run events %q, want the new finding only", rec.got)
	}
	if got := testutil.ToFloat64(m.findings.WithLabelValues("access", "low")); got != 0 {
		t.Errorf("a finding that went away is still counted: %v", got)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("exposure")); got != 1 {
		t.Errorf("check errors = %v, want 1", got)
	}

	// The cap holds on a run with many new findings.
	rec.got = nil
	findings = nil
	for i := range 5 {
		findings = append(findings, finding("c", fmt.Sprint("s", i), audit.Low))
	}
	r.RunOnce(ctx)
	if len(rec.got) != 2 {
		t.Errorf("events past MaxEvents: %d", len(rec.got))
	}

	r.Lister = lister{err: errors.New("forbidden")}
	r.RunOnce(ctx)
	if got := testutil.ToFloat64(m.errors.WithLabelValues("list")); got != 1 {
		t.Errorf("list errors = %v, want 1", got)
	}
}
