package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/test/scale"
)

// BenchmarkReloadAtScale runs `keyward controller` with only the reload
// controller, at its default flags (--reload-qps 200, --reload-burst 200),
// as its own process against the test cluster, with 1,000 Deployments each
// reading one key of its own Secret (which holds a second, unused key),
// and reports:
//   - s-to-record: from process start until every Deployment is recorded
//   - s-one-restart: one used key of one Secret changes; until its
//     Deployment's pod template carries the new hash (target 2 s), checking
//     that it is the only one restarted
//   - s-all-restarts: the used key of all 1,000 Secrets changes at once;
//     from the first write until every Deployment restarted (target 10 s)
//   - peak-MiB, peak-anon-MiB: the controller's peak resident and anonymous memory
//
// once as is and once with 20,000 unrelated 10 KB Secrets in the cluster
// (the reload controller watches every Secret's metadata).
//
// Run: go test ./test/e2e -run '^$' -bench ReloadAtScale -benchtime 1x
// (KEYWARD_BENCH_RELOAD_N sets the number of Deployments).
func BenchmarkReloadAtScale(b *testing.B) {
	n := 1000
	if v := os.Getenv("KEYWARD_BENCH_RELOAD_N"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil {
			b.Fatalf("KEYWARD_BENCH_RELOAD_N: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	scheme := cluster.Client.Scheme()
	fast := *cluster.Config
	fast.QPS, fast.Burst = 5000, 5000
	apply, err := client.New(&fast, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	bin := keywardBinary(b)

	hashes := func(ns string) map[string]string {
		var l appsv1.DeploymentList
		if err := apply.List(ctx, &l, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		out := make(map[string]string, len(l.Items))
		for _, d := range l.Items {
			if d.Annotations[reload.ObservedAnnotation] != "" {
				out[d.Name] = d.Spec.Template.Annotations[reload.HashAnnotation]
			}
		}
		return out
	}
	setUsed := func(ns string, i int, value string) error {
		patch, _ := json.Marshal(map[string]any{"stringData": map[string]string{"used": value}})
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s-%04d", i)}}
		return apply.Patch(ctx, s, client.RawPatch(types.MergePatchType, patch))
	}

	scenario := func(b *testing.B, noise int) {
		for range b.N {
			ctlNS, ns := newNamespace(ctx, b), newNamespace(ctx, b)
			b.Cleanup(func() {
				for _, n := range []string{ns, ctlNS} {
					_ = apply.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
				}
			})
			if noise > 0 {
				noiseNS := newNamespace(ctx, b)
				start := time.Now()
				createAll(ctx, b, apply, scale.UnrelatedSecrets(noiseNS, noise, 10*1024), 32)
				b.Logf("created %d unrelated 10 KB Secrets in %s", noise, time.Since(start).Round(time.Second))
				b.Cleanup(func() {
					_ = apply.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: noiseNS}})
				})
			}
			objs := make([]client.Object, 0, 2*n)
			for i := range n {
				name := fmt.Sprintf("s-%04d", i)
				objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					StringData: map[string]string{"used": fmt.Sprintf("first-%d", i), "unused": fmt.Sprintf("unused-%d", i)}})
				objs = append(objs, deployment(ns, fmt.Sprintf("d-%04d", i), map[string]string{reload.ReloaderAuto: "true"},
					podSpec(envKey(name, "used"), nil)))
			}
			start := time.Now()
			createAll(ctx, b, apply, objs, 32)
			b.Logf("created %d Secrets and %d Deployments in %s", n, n, time.Since(start).Round(time.Second))

			proc := startControllerBinary(b, bin, ctlNS, nil, "--enable-sealedsecret=false", "--enable-reload=true")
			peakAnon := proc.sampleAnon()
			started := time.Now()
			var recorded time.Duration
			eventually(ctx, b, "every Deployment recorded", func(context.Context) (bool, error) {
				if len(hashes(ns)) == n {
					recorded = time.Since(started)
					return true, nil
				}
				time.Sleep(200 * time.Millisecond)
				return false, nil
			})
			before := hashes(ns)

			b.ResetTimer()
			// One key of one Secret.
			if err := setUsed(ns, 0, "second-0"); err != nil {
				b.Fatal(err)
			}
			oneStart := time.Now()
			var one time.Duration
			d0 := &appsv1.Deployment{}
			eventually(ctx, b, "d-0000 restarted", func(ctx context.Context) (bool, error) {
				if err := apply.Get(ctx, client.ObjectKey{Namespace: ns, Name: "d-0000"}, d0); err != nil {
					return false, err
				}
				if d0.Spec.Template.Annotations[reload.HashAnnotation] != "" {
					one = time.Since(oneStart)
					return true, nil
				}
				time.Sleep(10 * time.Millisecond)
				return false, nil
			})
			time.Sleep(2 * time.Second)
			after := hashes(ns)
			for name, h := range after {
				if h != before[name] && name != "d-0000" {
					b.Errorf("%s restarted, but its Secret did not change", name)
				}
			}
			before = after

			// The used key of every Secret at once.
			allStart := time.Now()
			parallel(b, n, 32, func(i int) error { return setUsed(ns, i, fmt.Sprintf("third-%d", i)) })
			written := time.Since(allStart)
			var all time.Duration
			eventually(ctx, b, "every Deployment restarted", func(context.Context) (bool, error) {
				now := hashes(ns)
				changed := 0
				for name, h := range now {
					if h != before[name] {
						changed++
					}
				}
				if changed == n {
					all = time.Since(allStart)
					return true, nil
				}
				time.Sleep(100 * time.Millisecond)
				return false, nil
			})
			b.StopTimer()
			anon := peakAnon()
			rss, err := proc.peakRSS()
			if err != nil {
				b.Fatal(err)
			}
			scrape := proc.metrics()
			restarts := metricValue(scrape, `keyward_reload_restarts_total{kind="Deployment"}`)
			reads := metricValue(scrape, "keyward_reload_secret_reads_total")
			throttled := metricValue(scrape, "keyward_reload_throttled_seconds_total")
			if strings.Contains(proc.logText(), "first-") || strings.Contains(proc.logText(), "third-") {
				b.Error("a value shows in the controller's log")
			}
			proc.stop(b, syscall.SIGTERM)

			b.ReportMetric(recorded.Seconds(), "s-to-record")
			b.ReportMetric(one.Seconds(), "s-one-restart")
			b.ReportMetric(all.Seconds(), "s-all-restarts")
			b.ReportMetric(float64(rss)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(anon)/(1<<20), "peak-anon-MiB")
			b.Logf("%d Deployments, %d unrelated Secrets: recorded in %s; one key -> its Deployment in %s; "+
				"all %d Secrets written in %s, every Deployment restarted after %s (%v restarts, %v Secret reads, %.1f s throttled); "+
				"peak RSS %.1f MiB, anonymous %.1f MiB",
				n, noise, recorded.Round(time.Millisecond), one.Round(time.Millisecond), n, written.Round(time.Millisecond),
				all.Round(time.Millisecond), restarts, reads, throttled, float64(rss)/(1<<20), float64(anon)/(1<<20))
		}
	}
	b.Run("alone", func(b *testing.B) { scenario(b, 0) })
	b.Run("with-20k-unrelated-secrets", func(b *testing.B) { scenario(b, 20000) })
}
