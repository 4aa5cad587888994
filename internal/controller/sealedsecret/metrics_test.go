package sealedsecret

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestConditionInfoSeries(t *testing.T) {
	const header = `# HELP sealed_secrets_controller_condition_info SealedSecret conditions: -1 false, 0 unknown, 1 true.
# TYPE sealed_secrets_controller_condition_info gauge
`
	for _, tt := range []struct {
		name  string
		steps func(m *Metrics)
		want  string
	}{
		{"one per SealedSecret", func(m *Metrics) {
			m.condition("app", "db", "", 1)
			m.condition("app", "api", "web", -1)
		}, `sealed_secrets_controller_condition_info{condition="Synced",name="api",namespace="app",ss_app_kubernetes_io_instance="web"} -1
sealed_secrets_controller_condition_info{condition="Synced",name="db",namespace="app",ss_app_kubernetes_io_instance=""} 1
`},
		{"a new instance label replaces the series", func(m *Metrics) {
			m.condition("app", "db", "old", -1)
			m.condition("app", "db", "new", 1)
		}, `sealed_secrets_controller_condition_info{condition="Synced",name="db",namespace="app",ss_app_kubernetes_io_instance="new"} 1
`},
		{"forgotten when deleted", func(m *Metrics) {
			m.condition("app", "db", "", 1)
			m.condition("other", "db", "", 1)
			m.forget("app", "db")
		}, `sealed_secrets_controller_condition_info{condition="Synced",name="db",namespace="other",ss_app_kubernetes_io_instance=""} 1
`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := NewMetrics(reg, "test")
			if err != nil {
				t.Fatal(err)
			}
			tt.steps(m)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(header+tt.want), "sealed_secrets_controller_condition_info"); err != nil {
				t.Error(err)
			}
		})
	}
}
