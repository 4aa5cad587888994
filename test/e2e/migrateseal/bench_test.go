package migrateseal

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// BenchmarkMigrateSeal500 times `keyward migrate seal -n NS --apply` on a
// namespace of 500 Secrets: sealing, marking each for adoption, applying
// the SealedSecrets and waiting until the controller has taken every
// Secret over with its data unchanged. It reports the command's wall time
// and its peak RSS (the built binary's, from rusage).
func BenchmarkMigrateSeal500(b *testing.B) {
	setup(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var wall time.Duration
	var maxRSS int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := newNamespace(ctx, b)
		names, values := makeSecrets(ctx, b, ns, 500)
		work, cfgHome := b.TempDir(), b.TempDir()
		cmd := exec.CommandContext(ctx, env.bin, "migrate", "seal", "-n", ns, "--out", filepath.Join(work, "sealed"),
			"--apply", "--timeout", "10m", "--controller-namespace", env.ctlNS)
		cmd.Dir = work
		cmd.Env = []string{"KUBECONFIG=" + env.kubeconfig, "XDG_CONFIG_HOME=" + cfgHome, "HOME=" + cfgHome, "PATH=" + os.Getenv("PATH")}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		b.StartTimer()
		start := time.Now()
		err := cmd.Run()
		wall += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("migrate seal: %v\nstderr:\n%s", err, errOut.String())
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss) // KiB on Linux
		}
		for _, n := range names {
			s, err := env.kube.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if ref := metav1.GetControllerOf(s); ref == nil || ref.Kind != ssv1.Kind {
				b.Fatalf("Secret %s/%s is not controlled by its SealedSecret after the run", ns, n)
			}
		}
		noLeak(b, "the report", out.String()+errOut.String(), values)
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/seal500")
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
}
