package migratepush

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	testvault "github.com/keyward/keyward/test/vault"
)

// BenchmarkMigratePush500 pushes 500 Secrets (two keys each) to Vault and
// waits until their ExternalSecrets have taken every one over, running
// the built binary as a user would; it reports the command's wall time
// and its peak resident memory (ru_maxrss).
//
//	KUBEBUILDER_ASSETS=... go test -run '^$' -bench BenchmarkMigratePush500 -benchtime 1x ./test/e2e/migratepush/
func BenchmarkMigratePush500(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	controllers(b)
	v := testvault.Start(b, testvault.Options{})
	keywardBinary(b)
	home := b.TempDir()
	var wall time.Duration
	var maxRSS int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := newNamespace(ctx, b, fmt.Sprintf("bench%d", i))
		vaultStore(ctx, b, v, ns)
		secrets := makeSecrets(ctx, b, ns, 500)
		cmd, out, errOut := binaryCmd(b, home, pushArgs(ns, "--workers", "16", "--timeout", "10m", "--out", b.TempDir())...)
		b.StartTimer()
		start := time.Now()
		err := cmd.Run()
		wall += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("push: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss) // KiB on Linux
		}
		intact(ctx, b, ns, secrets, true)
		noLeak(b, "benchmark output", out.String()+errOut.String(), planted(secrets)...)
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/push500")
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
}
