package externalsecret

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the ExternalSecret controller.
type Metrics struct {
	syncs    *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_externalsecret_syncs_total",
			Help: "ExternalSecret syncs by result (ok, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "keyward_externalsecret_reconcile_duration_seconds",
			Help:    "Duration of ExternalSecret reconciles.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.duration)
	}
	return m
}

func (m *Metrics) sync(result string) {
	if m != nil {
		m.syncs.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) observeDuration(d time.Duration) {
	if m != nil {
		m.duration.Observe(d.Seconds())
	}
}
