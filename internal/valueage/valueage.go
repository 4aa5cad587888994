// Package valueage exports keyward_secret_value_age_seconds: for each Secret
// a controller manages, how long ago its value last changed. The controllers
// stamp the change time on the Secret (a value-changed-at annotation); the
// age is read from their caches when Prometheus scrapes, so nothing is kept
// twice and a Secret that goes away leaves no stale series.
package valueage

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
)

// Source lists the Secrets one controller manages, from its cache.
type Source struct {
	// Owner is the kind that makes these Secrets (SealedSecret, ExternalSecret).
	Owner string
	// Annotation holds the RFC 3339 time the value last changed.
	Annotation string
	List       func(ctx context.Context) ([]corev1.Secret, error)
}

// Collector is a prometheus.Collector over the sources added to it.
type Collector struct {
	now  func() time.Time
	desc *prometheus.Desc
	errs prometheus.Counter

	mu      sync.Mutex
	sources []Source
}

// New returns a collector with no sources yet.
func New() *Collector {
	return &Collector{
		now: time.Now,
		desc: prometheus.NewDesc("keyward_secret_value_age_seconds",
			"Seconds since the value of a Secret a Keyward controller manages last changed.",
			[]string{"namespace", "name", "owner_kind"}, nil),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyward_secret_value_age_errors_total",
			Help: "Scrapes in which a controller's cache could not be listed for value ages.",
		}),
	}
}

// Add registers a controller's Secrets; controllers call it at setup.
func (c *Collector) Add(s Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources = append(c.sources, s)
}

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	c.errs.Describe(ch)
}

// Collect lists each source and reports the age of every stamped Secret.
// Secrets without a stamp (adopted unchanged, or written before stamps
// existed) have no known change time and no series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := append([]Source(nil), c.sources...)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := c.now()
	for _, s := range sources {
		secrets, err := s.List(ctx)
		if err != nil {
			c.errs.Inc()
			continue
		}
		for i := range secrets {
			sec := &secrets[i]
			at, err := time.Parse(time.RFC3339, sec.Annotations[s.Annotation])
			if err != nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue,
				now.Sub(at).Seconds(), sec.Namespace, sec.Name, s.Owner)
		}
	}
	c.errs.Collect(ch)
}
