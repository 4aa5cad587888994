package sealedsecret

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Unseal error reasons, as Bitnami labels sealed_secrets_controller_unseal_errors_total.
const (
	reasonFetch     = "fetch"
	reasonUnseal    = "unseal"
	reasonUpdate    = "update"
	reasonUnmanaged = "unmanaged"
	reasonStatus    = "status"
)

// Reconcile outcomes, the label of the duration histogram.
const (
	outcomeUnsealed = "unsealed" // decrypted and written (or found equal)
	outcomeInSync   = "in_sync"  // the Secret was made from this spec: nothing decrypted
	outcomeFailed   = "failed"   // Synced=False
	outcomeError    = "error"    // retried (API errors)
	outcomeDeleted  = "deleted"  // the SealedSecret is gone
)

// Metrics are Bitnami's controller series under its names, plus a
// reconcile duration histogram. Labels hold object names and reasons only,
// never a value.
type Metrics struct {
	buildInfo         *prometheus.GaugeVec
	unsealRequests    prometheus.Counter
	unsealErrors      *prometheus.CounterVec
	conditionInfo     *conditions
	reconcileDuration *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg, which is the
// manager's registry in the controller and a fresh one in tests.
func NewMetrics(reg prometheus.Registerer, revision string) (*Metrics, error) {
	const ns = "sealed_secrets_controller"
	m := &Metrics{
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "build_info", Help: "Build information.",
		}, []string{"revision"}),
		unsealRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "unseal_requests_total", Help: "SealedSecrets decrypted (or tried).",
		}),
		unsealErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "unseal_errors_total",
			Help: "Failures by reason (fetch, unseal, update, unmanaged, status) and namespace.",
		}, []string{"reason", "namespace"}),
		conditionInfo: &conditions{
			desc: prometheus.NewDesc(ns+"_condition_info", "SealedSecret conditions: -1 false, 0 unknown, 1 true.",
				[]string{"namespace", "name", "condition", "ss_app_kubernetes_io_instance"}, nil),
			series: map[[2]string]condition{},
		},
		reconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "reconcile_duration_seconds",
			Help:    "Time to reconcile one SealedSecret, by outcome (unsealed, in_sync, failed, error, deleted).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"outcome"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.buildInfo, m.unsealRequests, m.unsealErrors, m.conditionInfo, m.reconcileDuration} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	m.buildInfo.WithLabelValues(revision).Set(1)
	return m, nil
}

func (m *Metrics) unsealed() { m.unsealRequests.Inc() }
func (m *Metrics) failed(reason, namespace string) {
	m.unsealErrors.WithLabelValues(reason, namespace).Inc()
}
func (m *Metrics) observe(outcome string, d time.Duration) {
	m.reconcileDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// condition records the Synced condition of one SealedSecret.
func (m *Metrics) condition(namespace, name, instance string, value float64) {
	m.conditionInfo.set(namespace, name, instance, value)
}

// forget drops the series of a deleted SealedSecret.
func (m *Metrics) forget(namespace, name string) { m.conditionInfo.forget(namespace, name) }

// conditions is condition_info: one series per SealedSecret, made when
// scraped. A GaugeVec keeps a metric with its label pairs for each (about
// 650 bytes of heap apiece, with a map of instance labels besides); this
// map holds about 130.
type conditions struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	series map[[2]string]condition // namespace/name
}

type condition struct {
	instance string
	value    float64
}

func (c *conditions) set(namespace, name, instance string, value float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.series[[2]string{namespace, name}] = condition{instance, value}
}

func (c *conditions) forget(namespace, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.series, [2]string{namespace, name})
}

func (c *conditions) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *conditions) Collect(ch chan<- prometheus.Metric) {
	// Held while sending, as a GaugeVec does: the registry reads ch as
	// it goes, and a copy of every series would double a scrape's memory.
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.series {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v.value, k[0], k[1], "Synced", v.instance)
	}
}
