package e2e

import (
	"context"
	"debug/elf"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/test/proc"
)

// TestControllerBuiltAsPIE builds keyward as distributions build Go
// programs (-buildmode=pie) and runs its controller against the test
// cluster: it must start, answer /healthz and unseal a SealedSecret.
// Earlier start-up code that released the binary's pages crashed such a
// build with SIGSEGV.
func TestControllerBuiltAsPIE(t *testing.T) {
	// A PIE build compiles every package again (minutes, the first time);
	// the clock for the cluster starts after it.
	bin, err := buildKeyward("-buildmode=pie")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if f, err := elf.Open(bin); err != nil {
		t.Fatal(err)
	} else if typ := f.Type; f.Close() != nil || typ != elf.ET_DYN {
		t.Fatalf("the build is %v, want a position-independent executable (%v)", typ, elf.ET_DYN)
	}

	ctlNS, ns := newNamespace(ctx, t), newNamespace(ctx, t)
	c := sealedSecretClient(t)
	deleteSealedSecretsAtEnd(t, c, ctlNS, ns)
	health := proc.FreeAddr(t)
	proc := startControllerBinary(t, bin, ctlNS, nil, "--key-size", "2048", "--health-addr", health)
	eventually(ctx, t, "/healthz of the PIE build", func(context.Context) (bool, error) {
		select {
		case <-proc.exited:
			t.Fatalf("the PIE build exited: %v; log:\n%s", proc.cmd.ProcessState, proc.logTail(30))
		default:
		}
		resp, err := http.Get("http://" + health + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})

	pub := &waitKeySecret(ctx, t, ctlNS).Private.PublicKey
	ss := createSealed(ctx, t, c, pub, ns, "pie", nil)
	waitSecret(ctx, t, ns, ss.Name, hasData(map[string]string{"token": ns}))
	waitSynced(ctx, t, c, ss, corev1.ConditionTrue)
	if rss, err := proc.peakRSS(); err == nil {
		anon, _ := proc.status("RssAnon")
		t.Logf("PIE build: peak RSS %.1f MiB, anonymous %.1f MiB", float64(rss)/(1<<20), float64(anon)/(1<<20))
	}
}
