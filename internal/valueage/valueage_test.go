package valueage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func secret(ns, name, ann, at string) corev1.Secret {
	s := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if at != "" {
		s.Annotations = map[string]string{ann: at}
	}
	return s
}

func TestCollectorReportsAgesFromTheCaches(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := New()
	c.now = func() time.Time { return now }
	c.Add(Source{Owner: "ExternalSecret", Annotation: "es/changed", List: func(context.Context) ([]corev1.Secret, error) {
		return []corev1.Secret{
			secret("app", "db", "es/changed", "2026-12-03T11:00:00Z"),
			secret("app", "adopted", "es/changed", ""),          // no stamp: no series
			secret("app", "garbled", "es/changed", "yesterday"), // unreadable: no series
		}, nil
	}})
	c.Add(Source{Owner: "SealedSecret", Annotation: "ss/changed", List: func(context.Context) ([]corev1.Secret, error) {
		return []corev1.Secret{secret("web", "tls", "ss/changed", "2026-11-03T12:00:00Z")}, nil
	}})
	c.Add(Source{Owner: "Broken", Annotation: "x", List: func(context.Context) ([]corev1.Secret, error) {
		return nil, errors.New("cache not started")
	}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	want := `
# HELP keyward_secret_value_age_errors_total Scrapes in which a controller's cache could not be listed for value ages.
# TYPE keyward_secret_value_age_errors_total counter
keyward_secret_value_age_errors_total 1
# HELP keyward_secret_value_age_seconds Seconds since the value of a Secret a Keyward controller manages last changed.
# TYPE keyward_secret_value_age_seconds gauge
keyward_secret_value_age_seconds{name="db",namespace="app",owner_kind="ExternalSecret"} 3600
keyward_secret_value_age_seconds{name="tls",namespace="web",owner_kind="SealedSecret"} 2.592e+06
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
