package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/proc"
	testvault "github.com/keyward/keyward/test/vault"
)

const (
	benchExternalSecrets = 1000
	benchKeys            = 100
	benchRefresh         = 30 * time.Second
	benchClass           = "bench-vault"
)

// BenchmarkVault1000ExternalSecrets applies 1,000 ExternalSecrets over 100
// distinct Vault keys (AppRole auth) and runs `keyward controller` with its
// default flags as a process of its own. It reports the time from the start
// of the apply until every ExternalSecret is Ready, the Vault requests of
// that first sync and of one later refresh cycle (counted from Vault's
// audit device), and the controller's peak resident memory.
//
// Its stores carry their own controller class, so a controller started by
// the tests of this package never serves them.
func BenchmarkVault1000ExternalSecrets(b *testing.B) {
	for range b.N {
		runVaultBench(b)
	}
}

func runVaultBench(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin := keywardBinary(b)
	scheme, err := manager.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	cfg := *cluster.Config
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(&cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}

	v := testvault.Start(b, testvault.Options{})
	write := func(path string, body map[string]any) {
		if _, err := v.Client.Logical().WriteWithContext(ctx, path, body); err != nil {
			b.Fatalf("vault: %s: %v", path, err)
		}
	}
	if err := v.AppRole(ctx, "keyward", vaultPolicy, "bench-role", "bench-secret-id"); err != nil {
		b.Fatal(err)
	}
	for i := range benchKeys {
		write(fmt.Sprintf("secret/data/bench/key-%03d", i), map[string]any{"data": map[string]any{"value": fmt.Sprintf("v-%03d", i)}})
	}

	ns := fmt.Sprintf("bench-vault-%d", time.Now().Unix())
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-approle"}, StringData: map[string]string{"secret-id": "bench-secret-id"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{
			Controller: benchClass,
			Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: v.Addr, Path: ptrTo("secret"),
				Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{RoleID: "bench-role", SecretRef: esv1.SecretKeySelector{Name: "vault-approle", Key: "secret-id"}}}}},
		}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}

	ctrlProc := startController(ctx, b, bin)
	b.ResetTimer()

	// The apply: 1,000 ExternalSecrets, 20 at a time.
	mark := v.AuditMark()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, benchExternalSecrets)
	sem := make(chan struct{}, 20)
	for i := range benchExternalSecrets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			es := &esv1.ExternalSecret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("es-%04d", i)},
				Spec: esv1.ExternalSecretSpec{
					SecretStoreRef:  esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
					RefreshInterval: esDuration(benchRefresh),
					Data: []esv1.ExternalSecretData{{SecretKey: "value",
						RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: fmt.Sprintf("bench/key-%03d", i%benchKeys), Property: "value"}}},
				},
			}
			if err := c.Create(ctx, es); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("creating ExternalSecrets: %v", err)
	}
	applied := time.Since(start)
	var ready int
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list esv1.ExternalSecretList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		ready = 0
		for i := range list.Items {
			if cnd := readyCondition(&list.Items[i]); cnd.Status == corev1.ConditionTrue {
				ready++
			}
		}
		return ready == benchExternalSecrets, nil
	})
	allReady := time.Since(start)
	if err != nil {
		b.Fatalf("%d of %d ExternalSecrets Ready after %s: %v\ncontroller log:\n%s", ready, benchExternalSecrets, allReady, err, ctrlProc.tail(40))
	}
	first := countVault(b, v, mark)

	// One refresh cycle later: every ExternalSecret refreshes once within
	// it; the store should be read once per key and log in not at all.
	cycleMark := v.AuditMark()
	select {
	case <-time.After(benchRefresh):
	case <-ctx.Done():
		b.Fatal(ctx.Err())
	}
	cycle := countVault(b, v, cycleMark)
	var list esv1.ExternalSecretList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	refreshed := 0
	for _, es := range list.Items {
		if es.Status.RefreshTime.After(start.Add(allReady)) {
			refreshed++
		}
	}
	b.StopTimer()
	peak := ctrlProc.peakRSS(b)
	ctrlProc.stop()

	b.ReportMetric(allReady.Seconds(), "s-all-ready")
	b.ReportMetric(float64(first.reads), "reads-first-sync")
	b.ReportMetric(float64(first.logins), "logins-first-sync")
	b.ReportMetric(float64(cycle.reads), "reads-per-cycle")
	b.ReportMetric(float64(cycle.logins), "logins-per-cycle")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.Logf("apply of %d ExternalSecrets took %s; all Ready %s after it started", benchExternalSecrets, applied.Round(time.Millisecond), allReady.Round(time.Millisecond))
	b.Logf("first sync: %d reads, %d logins, %d other Vault requests", first.reads, first.logins, first.other)
	b.Logf("refresh cycle (%s): %d ExternalSecrets refreshed; %d reads, %d logins, %d other Vault requests", benchRefresh, refreshed, cycle.reads, cycle.logins, cycle.other)
	b.Logf("controller peak RSS %.1f MiB", float64(peak)/(1<<20))
}

type vaultCounts struct{ reads, logins, other int }

func countVault(b *testing.B, v *testvault.Server, mark int64) vaultCounts {
	b.Helper()
	reqs, err := v.Requests(mark)
	if err != nil {
		b.Fatal(err)
	}
	var n vaultCounts
	for _, r := range reqs {
		switch {
		case r.Operation == "read" && strings.HasPrefix(r.Path, "secret/data/"):
			n.reads++
		case strings.HasPrefix(r.Path, "auth/") && strings.Contains(r.Path, "/login"):
			n.logins++
		default:
			n.other++
		}
	}
	return n
}

type controllerProc struct {
	cmd      *exec.Cmd
	log      *lockedBuffer
	exited   chan error
	stopOnce sync.Once
}

// startController runs `keyward controller` for the bench class, with the
// default flags apart from its listen addresses.
func startController(ctx context.Context, b *testing.B, bin string) *controllerProc {
	b.Helper()
	p := &controllerProc{log: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, "controller", "--kubeconfig", cluster.Kubeconfig, "--controller-class", benchClass,
		"--listen-addr", "0", "--listen-metrics-addr", "0", "--health-addr", "0")
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	waited, err := proc.Start(p.cmd)
	if err != nil {
		b.Fatal(err)
	}
	pw.Close()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.log.add(sc.Text())
		}
	}()
	go func() { p.exited <- <-waited }()
	b.Cleanup(p.stop)
	return p
}

// peakRSS is the process's high-water resident set (VmHWM).
func (p *controllerProc) peakRSS(b *testing.B) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}

func (p *controllerProc) stop() {
	p.stopOnce.Do(func() {
		proc.Stop(p.cmd.Process, p.exited, 15*time.Second)
	})
}

func (p *controllerProc) tail(n int) string {
	return proc.Tail(p.log.String(), n)
}
