package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/proc"
)

// BenchmarkExternalSecretsAtScale runs `keyward controller` (default
// flags) as its own process against the test cluster with 20,000
// unrelated 10 KB Secrets present, applies 1,000 ExternalSecrets reading
// 100 distinct keys of a Kubernetes store, and reports:
//   - s-to-ready: from the first apply until every ExternalSecret is Ready
//   - reads/cycle: store reads per refresh cycle once settled
//   - peak-MiB: the controller's peak resident memory (VmHWM)
//
// Run: go test ./test/e2e -run '^$' -bench ExternalSecretsAtScale -benchtime 1x
// (KEYWARD_BENCH_FLAGS adds controller flags, to compare settings).
func BenchmarkExternalSecretsAtScale(b *testing.B) {
	const (
		noise, noiseSize = 20000, 10 * 1024
		sources, es      = 100, 1000
		refresh          = 30 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	scheme, err := manager.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	cfg := *cluster.Config
	cfg.QPS, cfg.Burst = 5000, 5000
	c, err := client.New(&cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	bin := keywardBinary(b)

	for i := 0; i < b.N; i++ {
		run := fmt.Sprintf("bench%d-%d", i, time.Now().Unix()%100000)
		noiseNS, app, src, ctl := run+"-noise", run+"-app", run+"-src", run+"-ctl"
		for _, ns := range []string{noiseNS, app, src, ctl} {
			must(b, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
		}
		filler := strings.Repeat("x", noiseSize)
		start := time.Now()
		parallel(b, noise, 32, func(j int) error {
			return c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: noiseNS, Name: fmt.Sprintf("noise-%05d", j)},
				StringData: map[string]string{"blob": filler}})
		})
		b.Logf("created %d unrelated %d KB Secrets in %s", noise, noiseSize/1024, time.Since(start).Round(time.Second))
		parallel(b, sources, 16, func(j int) error {
			return c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: src, Name: fmt.Sprintf("key-%03d", j)},
				StringData: map[string]string{"value": fmt.Sprintf("value-%03d", j)}})
		})
		// The store reads as a ServiceAccount allowed to read the source namespace.
		for _, o := range storeRBAC(app, src, "reader", false) {
			must(b, c.Create(ctx, o))
		}
		must(b, c.Create(ctx, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "kube"},
			Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "reader", nil)}}))

		metricsAddr := proc.FreeAddr(b)
		proc := startESController(b, bin, ctl, metricsAddr, strings.Fields(os.Getenv("KEYWARD_BENCH_FLAGS"))...)
		must(b, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			return proc.metrics() != "", nil
		}))
		rssIdle, err := proc.peakRSS()
		must(b, err)

		b.ResetTimer()
		applyStart := time.Now()
		parallel(b, es, 32, func(j int) error {
			return c.Create(ctx, &esv1.ExternalSecret{
				ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: fmt.Sprintf("es-%04d", j)},
				Spec: esv1.ExternalSecretSpec{
					SecretStoreRef:  esv1.SecretStoreRef{Name: "kube"},
					RefreshInterval: esDuration(refresh),
					Data: []esv1.ExternalSecretData{{SecretKey: "value",
						RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: fmt.Sprintf("key-%03d", j%sources), Property: "value"}}},
				},
			})
		})
		applied := time.Since(applyStart)
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
			var list esv1.ExternalSecretList
			if err := c.List(ctx, &list, client.InNamespace(app)); err != nil {
				return false, err
			}
			ready := 0
			for i := range list.Items {
				if r := readyCondition(&list.Items[i]); r.Status == corev1.ConditionTrue {
					ready++
				}
			}
			return ready == es, nil
		})
		must(b, err)
		toReady := time.Since(applyStart)
		b.StopTimer()

		// Reads per cycle in the steady state: skip one interval, then count
		// over two.
		const reads = `keyward_provider_calls_total{call="Read"`
		readsAtReady := sumSeries(proc.metrics(), reads)
		time.Sleep(refresh)
		settled := sumSeries(proc.metrics(), reads)
		time.Sleep(2 * refresh)
		after := proc.metrics()
		readsCycle := (sumSeries(after, reads) - settled) / 2
		fromCache := sumSeries(after, `keyward_provider_reads_total{provider="kubernetes",source="cache"`)
		coalesced := sumSeries(after, `keyward_provider_reads_total{provider="kubernetes",source="coalesced"`)
		peakBytes, err := proc.peakRSS()
		must(b, err)
		peakMiB := float64(peakBytes) / (1 << 20)
		proc.stop(b, syscall.SIGTERM)

		b.ReportMetric(toReady.Seconds(), "s-to-ready")
		b.ReportMetric(readsAtReady, "reads-to-ready")
		b.ReportMetric(readsCycle, "reads/cycle")
		b.ReportMetric(peakMiB, "peak-MiB")
		b.Logf("applying %d ExternalSecrets took %s; all Ready %s after the first apply", es, applied.Round(time.Millisecond), toReady.Round(time.Millisecond))
		b.Logf("store reads: %.0f until all Ready, then %.1f per %s refresh cycle; served from cache %.0f, coalesced %.0f (cumulative)",
			readsAtReady, readsCycle, refresh, fromCache, coalesced)
		b.Logf("controller memory: %.1f MiB peak RSS (%.1f MiB peak before the ExternalSecrets)", peakMiB, float64(rssIdle)/(1<<20))
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// parallel runs f(0..n-1) on workers goroutines and fails on the first error.
func parallel(b *testing.B, n, workers int, f func(int) error) {
	b.Helper()
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := f(j); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for j := 0; j < n; j++ {
		select {
		case jobs <- j:
		case err := <-errs:
			close(jobs)
			b.Fatal(err)
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// startESController runs `keyward controller` with default flags, apart
// from where it listens and the namespace of its own objects.
func startESController(b *testing.B, bin, ctlNS, metricsAddr string, extra ...string) *controllerProcess {
	b.Helper()
	log, err := os.Create(filepath.Join(b.TempDir(), "controller.log"))
	must(b, err)
	cmd := exec.Command(bin, "controller", "--kubeconfig", cluster.Kubeconfig, "--controller-namespace", ctlNS,
		"--listen-metrics-addr", metricsAddr, "--listen-addr", "0", "--health-addr", "0")
	cmd.Args = append(cmd.Args, extra...)
	cmd.Stdout, cmd.Stderr = log, log
	must(b, cmd.Start())
	p := &controllerProcess{cmd: cmd, log: log, metricsAddr: metricsAddr, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	b.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	return p
}

// sumSeries adds up the samples of a scrape whose line starts with prefix.
func sumSeries(scrape, prefix string) float64 {
	var sum float64
	for _, line := range strings.Split(scrape, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			sum += v
		}
	}
	return sum
}
