package reload

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the reload controller did, by workload kind. Labels
// never carry names or values.
type Metrics struct {
	Restarts  *prometheus.CounterVec
	Recorded  *prometheus.CounterVec
	Errors    *prometheus.CounterVec
	Throttled prometheus.Counter
	Reads     prometheus.Counter
}

// NewMetrics registers the metrics with reg (none when reg is nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keyward_reload_restarts_total",
			Help: "Workloads restarted because a Secret key they use changed."}, []string{"kind"}),
		Recorded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keyward_reload_recorded_total",
			Help: "Workloads whose used keys were recorded without a restart: first seen, or their pod template or annotations changed."}, []string{"kind"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keyward_reload_errors_total",
			Help: "Reload attempts that failed and are retried."}, []string{"kind"}),
		Throttled: prometheus.NewCounter(prometheus.CounterOpts{Name: "keyward_reload_throttled_seconds_total",
			Help: "Time restarts waited for the rate limit (--reload-qps, --reload-burst)."}),
		Reads: prometheus.NewCounter(prometheus.CounterOpts{Name: "keyward_reload_secret_reads_total",
			Help: "Secrets read to hash the keys workloads use (only after their resourceVersion changed)."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.Restarts, m.Recorded, m.Errors, m.Throttled, m.Reads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the reload metrics: %w", err)
		}
	}
	return m, nil
}
