package storeruntime

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyward/keyward/internal/provider"
)

// Metrics count store calls per store and call. Labels carry store names
// and call names only: never keys or values.
type Metrics struct {
	calls     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	reads     *prometheus.CounterVec
	throttled *prometheus.CounterVec
	// storeThrottled counts throttling replies from the stores themselves.
	storeThrottled *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_provider_calls_total",
			Help: "Calls made to secret stores, by provider, store, call and result (ok, not_found, error).",
		}, []string{"provider", "store", "call", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyward_provider_call_duration_seconds",
			Help:    "Duration of calls to secret stores.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider", "store", "call"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_provider_reads_total",
			Help: "Reads requested by ExternalSecrets, by where they were served from: store, cache or coalesced (joined a read in flight).",
		}, []string{"provider", "store", "source"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_provider_throttled_total",
			Help: "Calls delayed by a store's rate limit.",
		}, []string{"provider", "store"}),
		storeThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_provider_store_throttled_total",
			Help: "Throttling replies from secret stores (each answered with a backoff and a retry), by provider, store and call.",
		}, []string{"provider", "store", "call"}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.duration, m.reads, m.throttled, m.storeThrottled)
	}
	return m
}

func (m *Metrics) observe(prov, store, call string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	switch {
	case errors.Is(err, provider.ErrNotFound):
		result = "not_found"
	case err != nil:
		result = "error"
	}
	m.calls.WithLabelValues(prov, store, call, result).Inc()
	if d > 0 {
		m.duration.WithLabelValues(prov, store, call).Observe(d.Seconds())
	}
}

func (m *Metrics) read(prov, store, source string) {
	if m != nil {
		m.reads.WithLabelValues(prov, store, source).Inc()
	}
}

func (m *Metrics) throttle(prov, store string) {
	if m != nil {
		m.throttled.WithLabelValues(prov, store).Inc()
	}
}

func (m *Metrics) storeThrottle(prov, store, call string) {
	if m != nil {
		m.storeThrottled.WithLabelValues(prov, store, call).Inc()
	}
}
