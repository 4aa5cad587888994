package exposure

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/internal/audit/inventory"
)

// BenchmarkCheck20k is the exposure check over 20,000 Secrets (two keys
// each), 2,000 ConfigMaps of a 20-line properties file, 2,000 Pods with
// five env vars and an arg, and 5,000 Events.
func BenchmarkCheck20k(b *testing.B) {
	s := &inventory.Snapshot{}
	for i := range 20000 {
		ns := fmt.Sprintf("ns-%d", i%200)
		s.Secrets = append(s.Secrets, corev1.Secret{ObjectMeta: meta(ns, fmt.Sprintf("s-%d", i)),
			Data: map[string][]byte{"password": []byte(fmt.Sprintf("value-%08d-xyz", i)), "user": []byte(fmt.Sprintf("user-%08d", i))}})
	}
	for i := range 2000 {
		props := ""
		for j := range 20 {
			props += fmt.Sprintf("setting.%d=some-value-%d-%d\n", j, i, j)
		}
		s.ConfigMaps = append(s.ConfigMaps, corev1.ConfigMap{ObjectMeta: meta(fmt.Sprintf("ns-%d", i%200), fmt.Sprintf("c-%d", i)),
			Data: map[string]string{"app.properties": props}})
		var env []corev1.EnvVar
		for j := range 5 {
			env = append(env, corev1.EnvVar{Name: fmt.Sprintf("E%d", j), Value: fmt.Sprintf("env-value-%d-%d", i, j)})
		}
		s.Pods = append(s.Pods, pod(fmt.Sprintf("p-%d", i), nil, corev1.Container{Env: env, Args: []string{"--listen=0.0.0.0:8080"}}))
	}
	for i := range 5000 {
		s.Events = append(s.Events, corev1.Event{ObjectMeta: meta("app", fmt.Sprintf("e-%d", i)), Message: fmt.Sprintf("Back-off restarting failed container %d in pod p-%d", i, i)})
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := Check(s, Options{})
		if err != nil || len(res.Findings) != 0 {
			b.Fatalf("%v, %d findings", err, len(res.Findings))
		}
	}
	b.StopTimer()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MiB")
}
