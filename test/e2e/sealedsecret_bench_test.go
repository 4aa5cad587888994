package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/controller/sealedsecret"
	"github.com/keyward/keyward/test/scale"
)

// BenchmarkSealedSecretsAtScale runs `keyward controller` (default flags,
// only the SealedSecret controller) as its own process against the test
// cluster, applies 2,000 SealedSecrets of one RSA-4096 item each, and
// reports:
//   - s-to-all-secrets: from the start of the apply until every Secret exists
//   - peak-MiB: the controller's peak resident memory (VmHWM)
//   - peak-anon-MiB: its peak anonymous memory (RssAnon: heap, stacks,
//     runtime; VmHWM adds the binary's own clean pages), sampled from
//     start until every Secret exists
//   - s-restart-settled: a restart with all 2,000 in sync, from process
//     start until every SealedSecret was seen in sync (none is decrypted)
//
// once as is and once with 20,000 unrelated 10 KB Secrets in the cluster.
// Targets (issue 4): 22 s, 60 MiB with the unrelated Secrets, 5 s; issue 15:
// 60 MB peak and 32 MiB anonymous, with no page release.
//
// Run: make bench, or go test ./test/e2e -run '^$' -bench SealedSecretsAtScale -benchtime 1x
// (KEYWARD_BENCH_CONTROLLER_ARGS adds controller flags and
// KEYWARD_BENCH_CONTROLLER_ENV variables, to compare settings).
func BenchmarkSealedSecretsAtScale(b *testing.B) {
	const n = 2000
	extra := strings.Fields(os.Getenv("KEYWARD_BENCH_CONTROLLER_ARGS"))
	env := strings.Fields(os.Getenv("KEYWARD_BENCH_CONTROLLER_ENV"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c := sealedSecretClient(b)
	fast := *cluster.Config
	fast.QPS, fast.Burst = 5000, 5000
	apply, err := client.New(&fast, client.Options{Scheme: c.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	keywardBinary(b)
	pair := testKeyPair(b, "4096")

	scenario := func(b *testing.B, noise int) {
		for i := 0; i < b.N; i++ {
			ctlNS, ns := newNamespace(ctx, b), newNamespace(ctx, b)
			deleteSealedSecretsAtEnd(b, c, ns, ctlNS)
			if noise > 0 {
				noiseNS := newNamespace(ctx, b)
				start := time.Now()
				createAll(ctx, b, apply, scale.UnrelatedSecrets(noiseNS, noise, 10*1024), 32)
				b.Logf("created %d unrelated 10 KB Secrets in %s", noise, time.Since(start).Round(time.Second))
				b.Cleanup(func() {
					_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: noiseNS}})
				})
			}
			if err := cluster.Client.Create(ctx, pair.Secret(ctlNS, "sealed-secrets-keybench", nil, nil)); err != nil {
				b.Fatal(err)
			}
			sss := sealMany(b, &pair.Key.PublicKey, ns, n)

			proc := startControllerProcessEnv(b, ctlNS, env, extra...)
			peakAnon := proc.sampleAnon()
			waitServing(ctx, b, proc)
			allDone := allSecrets(ctx, b, ns, n)

			b.ResetTimer()
			start := time.Now()
			applyAll(ctx, b, apply, sss)
			applied := time.Since(start)
			var all time.Duration
			select {
			case at := <-allDone:
				all = at.Sub(start)
			case <-ctx.Done():
				b.Fatalf("not every Secret after %s; controller log:\n%s", time.Since(start), proc.logTail(20))
			}
			b.StopTimer()
			anon := peakAnon()
			rss, err := proc.peakRSS()
			if err != nil {
				b.Fatal(err)
			}
			file, _ := proc.status("RssFile")
			scrape := proc.metrics()
			if path := os.Getenv("KEYWARD_BENCH_SCRAPE"); path != "" {
				_ = os.WriteFile(fmt.Sprintf("%s.%d", path, noise), []byte(scrape), 0o644)
			}
			unsealed := metricValue(scrape, "sealed_secrets_controller_unseal_requests_total")
			proc.stop(b, syscall.SIGTERM)

			restarted := startControllerProcessEnv(b, ctlNS, env, extra...)
			restartStart := time.Now()
			var settled time.Duration
			eventually(ctx, b, "a restart in sync", func(context.Context) (bool, error) {
				m := restarted.metrics()
				if metricValue(m, `sealed_secrets_controller_reconcile_duration_seconds_count{outcome="in_sync"}`) == n {
					settled = time.Since(restartStart)
					return true, nil
				}
				return false, nil
			})
			redecrypted := metricValue(restarted.metrics(), "sealed_secrets_controller_unseal_requests_total")
			restartRSS, _ := restarted.peakRSS()
			restarted.stop(b, syscall.SIGTERM)

			b.ReportMetric(all.Seconds(), "s-to-all-secrets")
			b.ReportMetric(float64(rss)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(anon)/(1<<20), "peak-anon-MiB")
			b.ReportMetric(settled.Seconds(), "s-restart-settled")
			b.ReportMetric(redecrypted, "restart-decryptions")
			b.Logf("%d SealedSecrets (RSA-4096), %d unrelated Secrets: applied in %s, every Secret after %s; %v unsealed; peak RSS %.1f MiB "+
				"(anonymous at most %.1f MiB, the binary's pages %.1f MiB at the end); "+
				"restart settled after %s with %v decryptions, peak RSS %.1f MiB",
				n, noise, applied.Round(time.Millisecond), all.Round(time.Millisecond), unsealed, float64(rss)/(1<<20),
				float64(anon)/(1<<20), float64(file)/(1<<20),
				settled.Round(time.Millisecond), redecrypted, float64(restartRSS)/(1<<20))
		}
	}
	b.Run("alone", func(b *testing.B) { scenario(b, 0) })
	b.Run("with-20k-unrelated-secrets", func(b *testing.B) { scenario(b, 20000) })
}

// waitServing waits until the controller process answers on /metrics.
func waitServing(ctx context.Context, t testing.TB, p *controllerProcess) {
	t.Helper()
	eventually(ctx, t, "the controller's metrics endpoint", func(context.Context) (bool, error) {
		return p.metrics() != "", nil
	})
}

// allSecrets returns a channel that receives the time at which the n-th
// Secret made by the controller in ns was seen.
func allSecrets(ctx context.Context, t testing.TB, ns string, n int) <-chan time.Time {
	t.Helper()
	w, err := scale.WatchSecrets(ctx, cluster.Clientset.CoreV1().Secrets(ns),
		metav1.ListOptions{LabelSelector: sealedsecret.UnsealedLabel + "=true"}, n)
	if err != nil {
		t.Fatal(err)
	}
	return w.Done()
}
