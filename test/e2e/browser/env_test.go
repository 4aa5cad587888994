package browser

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/proc"
)

func eventually(ctx context.Context, t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// newNamespace makes a namespace that goes, with its SealedSecrets, when
// the test ends.
func newNamespace(ctx context.Context, t testing.TB, c client.Client) string {
	t.Helper()
	name := "browser-" + rand.String(6)
	if err := cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = c.DeleteAllOf(context.Background(), &ssv1.SealedSecret{}, client.InNamespace(name))
		_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	return name
}

// startController runs the SealedSecret controller in-process, as the
// e2e package does, with keys of the given size in ctlNS and its HTTP
// API on a free loopback address, until the test ends. It returns the
// current key and the API's address.
func startController(ctx context.Context, t *testing.T, ctlNS string, bits int) (keys.Key, string) {
	t.Helper()
	addr := proc.FreeAddr(t)
	var reg *keys.Registry
	var regMu sync.Mutex
	opts := manager.SealedSecretsOptions{
		Keys:         keys.RegistryOptions{Namespace: ctlNS, KeySize: bits},
		UpdateStatus: true, Workers: 2, ListenAddr: addr, RateLimit: -1,
		OnKeys: func(r *keys.Registry) { regMu.Lock(); reg = r; regMu.Unlock() },
	}
	cfg := *cluster.Config
	mgr, err := manager.New(ctx, manager.Options{
		Config: &cfg, MetricsAddr: "0", HealthAddr: "0", Registry: prometheus.NewRegistry(),
		Enabled: manager.Only("sealedsecret"), SealedSecrets: opts, SkipNameValidation: true,
	})
	if err != nil {
		t.Fatalf("building the controller: %v", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller stopped with: %v", err)
		}
	})
	var k keys.Key
	eventually(ctx, t, "the controller's sealing key", func(context.Context) (bool, error) {
		regMu.Lock()
		defer regMu.Unlock()
		if reg == nil {
			return false, nil
		}
		var ok bool
		k, ok = reg.Current()
		return ok, nil
	})
	return k, addr
}

// kubectlProxy runs `kubectl proxy` on a free port with the admin
// kubeconfig, until the test ends, and returns its base URL.
func kubectlProxy(t *testing.T) string {
	t.Helper()
	assets, err := testcluster.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(assets, "kubectl"), "proxy", "--port=0", "--kubeconfig", cluster.Kubeconfig)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	exited, err := proc.Start(cmd)
	if err != nil {
		t.Fatalf("starting kubectl proxy: %v", err)
	}
	t.Cleanup(func() { proc.Stop(cmd.Process, exited, 10*time.Second) })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, addr, ok := strings.Cut(sc.Text(), "Starting to serve on "); ok {
				lines <- addr
			}
		}
	}()
	select {
	case addr := <-lines:
		return "http://" + strings.TrimSpace(addr)
	case err := <-exited:
		t.Fatalf("kubectl proxy exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl proxy did not say where it serves")
	}
	return ""
}

// get fetches url and returns the response with its body read.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(&b, sc.Text())
	}
	return resp, b.String()
}
