package e2e

import (
	"bufio"
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/internal/sealing"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/proc"
)

// ssController is a SealedSecret controller running in this process, with
// its own key namespace and metrics registry.
type ssController struct {
	keys    *keys.Registry
	metrics *prometheus.Registry
	stop    func()
}

// startSealedSecrets runs the SealedSecret controller (and nothing else)
// in-process until the test ends. Keys are RSA-2048 for speed.
func startSealedSecrets(ctx context.Context, t *testing.T, ctlNS string, edit func(*manager.SealedSecretsOptions)) *ssController {
	t.Helper()
	opts := manager.SealedSecretsOptions{
		Keys:         keys.RegistryOptions{Namespace: ctlNS, KeySize: 2048},
		UpdateStatus: true, AcceptV1Data: true, Workers: 2, ListenAddr: "0",
	}
	if edit != nil {
		edit(&opts)
	}
	c := &ssController{metrics: prometheus.NewRegistry()}
	opts.OnKeys = func(r *keys.Registry) { c.keys = r }
	cfg := *cluster.Config
	cfg.QPS, cfg.Burst = 200, 400
	mgr, err := manager.New(ctx, manager.Options{
		Config: &cfg, MetricsAddr: "0", HealthAddr: "0", Registry: c.metrics,
		Enabled: manager.Only("sealedsecret"), SealedSecrets: opts, SkipNameValidation: true,
	})
	if err != nil {
		t.Fatalf("building the controller: %v", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("controller stopped with: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// currentKey waits for the controller's newest key (it makes one when the
// namespace has none).
func (c *ssController) currentKey(ctx context.Context, t *testing.T) keys.Key {
	t.Helper()
	var k keys.Key
	eventually(ctx, t, "a sealing key", func(context.Context) (bool, error) {
		var ok bool
		k, ok = c.keys.Current()
		return ok, nil
	})
	return k
}

func (c *ssController) metricsText(t *testing.T) string {
	t.Helper()
	return metricsText(t, c.metrics)
}

// sealSecret seals a Secret namespace/name with the given items for pub.
func sealSecret(t testing.TB, pub *rsa.PublicKey, namespace, name string, items map[string]string, edit ...func(*corev1.Secret)) *ssv1.SealedSecret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, StringData: items}
	for _, e := range edit {
		e(s)
	}
	ss, err := sealing.Seal(s, pub, sealing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// waitSecret waits until the Secret exists and ok accepts it.
func waitSecret(ctx context.Context, t *testing.T, ns, name string, ok func(*corev1.Secret) bool) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	eventually(ctx, t, "Secret "+ns+"/"+name, func(ctx context.Context) (bool, error) {
		err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && (ok == nil || ok(s)), err
	})
	return s
}

// hasData says the Secret holds exactly these items.
func hasData(want map[string]string) func(*corev1.Secret) bool {
	return func(s *corev1.Secret) bool {
		if len(s.Data) != len(want) {
			return false
		}
		for k, v := range want {
			if string(s.Data[k]) != v {
				return false
			}
		}
		return true
	}
}

// waitSynced waits until the SealedSecret's Synced condition has status
// for its current generation, and returns the object.
func waitSynced(ctx context.Context, t *testing.T, c client.Client, ss *ssv1.SealedSecret, status corev1.ConditionStatus) *ssv1.SealedSecret {
	t.Helper()
	got := &ssv1.SealedSecret{}
	eventually(ctx, t, fmt.Sprintf("SealedSecret %s/%s Synced=%s", ss.Namespace, ss.Name, status), func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ss), got); err != nil {
			return false, err
		}
		cond := syncedCondition(got)
		return cond != nil && cond.Status == status && got.Status.ObservedGeneration == got.Generation, nil
	})
	return got
}

func syncedCondition(ss *ssv1.SealedSecret) *ssv1.SealedSecretCondition {
	if ss.Status == nil {
		return nil
	}
	for i := range ss.Status.Conditions {
		if ss.Status.Conditions[i].Type == ssv1.SealedSecretSynced {
			return &ss.Status.Conditions[i]
		}
	}
	return nil
}

// eventsFor returns "reason: note" of every event about the object.
func eventsFor(ctx context.Context, t *testing.T, ns, name string) []string {
	t.Helper()
	list, err := cluster.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Reason+": "+e.Note)
		}
	}
	return out
}

// waitEvent waits for an event with this reason about the object and
// returns its note.
// assertUnchanged fails t with why when the Secret before has been written
// since it was read.
func assertUnchanged(ctx context.Context, t *testing.T, before *corev1.Secret, why string) {
	t.Helper()
	var after corev1.Secret
	if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(before), &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Fatal(why)
	}
}

func waitEvent(ctx context.Context, t *testing.T, ns, name, reason string) string {
	t.Helper()
	var note string
	eventually(ctx, t, "event "+reason+" for "+ns+"/"+name, func(ctx context.Context) (bool, error) {
		for _, e := range eventsFor(ctx, t, ns, name) {
			if r, n, _ := strings.Cut(e, ": "); r == reason {
				note = n
				return true, nil
			}
		}
		return false, nil
	})
	return note
}

// sealedSecretNamespaces makes a namespace for a controller and one for the
// test's SealedSecrets, which go when the test ends, and a client for them.
func sealedSecretNamespaces(ctx context.Context, t *testing.T) (ctlNS, ns string, c client.Client) {
	t.Helper()
	ctlNS, ns = newNamespace(ctx, t), newNamespace(ctx, t)
	c = sealedSecretClient(t)
	deleteSealedSecretsAtEnd(t, c, ns)
	return ctlNS, ns, c
}

// deleteSealedSecretsAtEnd removes the namespace's SealedSecrets when the
// test ends, so controllers of later tests do not pick them up.
func deleteSealedSecretsAtEnd(t testing.TB, c client.Client, namespaces ...string) {
	t.Cleanup(func() {
		for _, ns := range namespaces {
			_ = c.DeleteAllOf(context.Background(), &ssv1.SealedSecret{}, client.InNamespace(ns))
			_ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
	})
}

var (
	keywardBinOnce sync.Once
	keywardBin     string
	keywardBinErr  error
)

// keywardBinary builds bin/keyward once per test run, for tests that kill
// and restart the controller or measure it as its own process.
func keywardBinary(t testing.TB) string {
	t.Helper()
	keywardBinOnce.Do(func() { keywardBin, keywardBinErr = buildKeyward() })
	if keywardBinErr != nil {
		t.Fatal(keywardBinErr)
	}
	return keywardBin
}

// buildKeyward builds ./cmd/keyward with these go build flags into a new
// temporary directory and returns the binary's path.
func buildKeyward(flags ...string) (string, error) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "keyward-e2e-bin-")
	if err != nil {
		return "", err
	}
	// The linker writes its output through a shared mapping, which
	// leaves the file cached in large folios that a process then maps
	// whole: 4-5 MB more resident at start than the same binary
	// installed by copying, as an image's is. Measure what is shipped.
	linked := filepath.Join(dir, "keyward.linked")
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", linked, "./cmd/keyward")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s ./cmd/keyward: %v\n%s", strings.Join(flags, " "), err, out)
	}
	bin := filepath.Join(dir, "keyward")
	return bin, copyExecutable(linked, bin)
}

// copyExecutable copies src to a new executable file dst and removes src.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(src)
}

// controllerProcess is `keyward controller` running as its own process.
type controllerProcess struct {
	cmd         *exec.Cmd
	log         *os.File
	metricsAddr string
	exited      chan struct{}
}

// startControllerProcess runs `keyward controller` with only the
// SealedSecret controller, keys in ctlNS, metrics on a free port, and args.
func startControllerProcess(t testing.TB, ctlNS string, args ...string) *controllerProcess {
	t.Helper()
	return startControllerProcessEnv(t, ctlNS, nil, args...)
}

// startControllerProcessEnv is startControllerProcess with extra
// environment variables (KEY=VALUE) for the controller alone.
func startControllerProcessEnv(t testing.TB, ctlNS string, env []string, args ...string) *controllerProcess {
	t.Helper()
	return startControllerBinary(t, keywardBinary(t), ctlNS, env, args...)
}

// startControllerBinary is startControllerProcessEnv with the keyward
// binary at bin.
func startControllerBinary(t testing.TB, bin, ctlNS string, env []string, args ...string) *controllerProcess {
	t.Helper()
	p := &controllerProcess{metricsAddr: proc.FreeAddr(t), exited: make(chan struct{})}
	all := []string{"controller", "--kubeconfig", cluster.Kubeconfig, "--controller-namespace", ctlNS,
		"--listen-addr", "0", "--health-addr", "0", "--listen-metrics-addr", p.metricsAddr}
	for _, c := range manager.Controllers() {
		if c.Name != "sealedsecret" {
			all = append(all, "--enable-"+c.Name+"=false")
		}
	}
	log, err := os.CreateTemp(t.TempDir(), "controller-*.log")
	if err != nil {
		t.Fatal(err)
	}
	p.log = log
	p.cmd = exec.Command(bin, append(all, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.Env = append(append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig), env...)
	waited, err := proc.Start(p.cmd)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-waited; close(p.exited) }()
	t.Cleanup(func() { p.signal(syscall.SIGKILL) })
	return p
}

func (p *controllerProcess) signal(sig syscall.Signal) {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// stop ends the process with sig and waits for it.
func (p *controllerProcess) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	p.signal(sig)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("controller did not stop on %v; log:\n%s", sig, p.logTail(30))
	}
}

func (p *controllerProcess) logText() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(b)
}

func (p *controllerProcess) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.logText(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// metrics scrapes the process's /metrics; "" while it is not serving.
func (p *controllerProcess) metrics() string {
	resp, err := http.Get("http://" + p.metricsAddr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue reads one sample (name with its labels, as printed) from a
// scrape; -1 when absent.
func metricValue(scrape, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(scrape))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// peakRSS is the process's VmHWM in bytes.
func (p *controllerProcess) peakRSS() (int64, error) {
	return p.status("VmHWM")
}

// status reads a size field (kB) of /proc/PID/status, in bytes.
func (p *controllerProcess) status(field string) (int64, error) {
	return proc.Status(p.cmd.Process.Pid, field)
}

// sampleAnon records the largest anonymous resident memory (RssAnon: heap,
// stacks, runtime) seen until the returned function is called, which
// returns it. VmHWM also counts the binary's own pages (RssFile).
func (p *controllerProcess) sampleAnon() func() int64 {
	return proc.SampleMax(50*time.Millisecond, func() (int64, error) { return p.status("RssAnon") })
}

// waitKeySecret waits for a key Secret in ctlNS (a controller process makes
// one at start) and returns its key.
func waitKeySecret(ctx context.Context, t testing.TB, ctlNS string) keys.Key {
	t.Helper()
	var k keys.Key
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		secrets, err := keys.KeySecrets(ctx, cluster.Clientset.CoreV1(), ctlNS, keys.DefaultKeyPrefix)
		if err != nil || len(secrets) == 0 {
			return false, err
		}
		ks, err := keys.ParseKeySecret(&secrets[0])
		if err != nil || len(ks) == 0 {
			return false, err
		}
		k = ks[0]
		return true, nil
	})
	if err != nil {
		t.Fatalf("waiting for a key Secret in %s: %v", ctlNS, err)
	}
	return k
}
