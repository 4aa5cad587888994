// Package migrateseal runs `keyward migrate seal` (the built binary)
// against the real test control plane and the real SealedSecret controller
// (`keyward controller`, also the built binary, its HTTP API reached
// through the API server's service proxy): a namespace adopted in place
// under a watch, a tree checked online through /v1/verify, an API server
// restart during --apply and a kill -9 followed by a rerun. Every output,
// log and file written is searched for the planted values.
package migrateseal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keyward/keyward/internal/controllerclient"
	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/proc"
)

var cluster *testcluster.Cluster

// env is what the tests share: the binary, a kubeconfig that survives an
// API server restart, a client from it, and the controller.
var env struct {
	once       sync.Once
	err        error
	bin        string
	kubeconfig string
	cfg        *rest.Config
	kube       kubernetes.Interface
	ctlNS      string
	ctlLog     string
	ctl        *exec.Cmd
	ctlDone    <-chan error
	stopExpose func()
}

func TestMain(m *testing.M) {
	// kube-apiserver stops only when its connections are idle or its
	// request timeout (1m by default, envtest's whole stop timeout) has
	// passed; the controller's and the guard's watches keep theirs busy.
	// A short one lets RestartAPIServer finish.
	args := map[string][]string{"request-timeout": {"10s"}}
	os.Exit(testcluster.Main(m, testcluster.Options{NoControllerManager: true, APIServerArgs: args, BeforeStop: func() {
		if env.ctl != nil && env.ctl.Process != nil {
			proc.Stop(env.ctl.Process, env.ctlDone, 10*time.Second)
		}
		if env.stopExpose != nil {
			env.stopExpose()
		}
	}}, &cluster))
}

// setup builds the binary and starts the controller once for the package.
func setup(t testing.TB) {
	t.Helper()
	env.once.Do(func() { env.err = start() })
	if env.err != nil {
		t.Fatal(env.err)
	}
}

func start() error {
	dir, err := os.MkdirTemp("", "keyward-migrateseal-")
	if err != nil {
		return err
	}
	if env.bin, err = proc.BuildKeyward(dir); err != nil {
		return err
	}
	// testcluster keeps the API server's certificates across a restart,
	// so the admin kubeconfig works before and after one, as a real
	// cluster's does.
	env.kubeconfig = cluster.Kubeconfig
	if env.cfg, err = clientcmd.BuildConfigFromFlags("", env.kubeconfig); err != nil {
		return err
	}
	env.cfg.QPS, env.cfg.Burst = 200, 400
	if env.kube, err = kubernetes.NewForConfig(env.cfg); err != nil {
		return err
	}
	ctx := context.Background()
	env.ctlNS = "keyward-ctl"
	if _, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: env.ctlNS}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	addr, err := proc.PickAddr()
	if err != nil {
		return err
	}
	args := []string{"controller", "--kubeconfig", env.kubeconfig, "--controller-namespace", env.ctlNS,
		"--listen-addr", addr, "--health-addr", "0", "--listen-metrics-addr", "0", "--key-renew-period", "0"}
	for _, c := range manager.Controllers() {
		if c.Name != "sealedsecret" {
			args = append(args, "--enable-"+c.Name+"=false")
		}
	}
	env.ctlLog = filepath.Join(dir, "controller.log")
	log, err := os.Create(env.ctlLog)
	if err != nil {
		return err
	}
	env.ctl = exec.Command(env.bin, args...)
	env.ctl.Stdout, env.ctl.Stderr = log, log
	if env.ctlDone, err = proc.Start(env.ctl); err != nil {
		return err
	}
	if env.stopExpose, err = cluster.ExposeService(ctx, env.ctlNS, controllerclient.DefaultName, addr); err != nil {
		return err
	}
	client, err := controllerclient.New(env.cfg, env.ctlNS, controllerclient.DefaultName)
	if err != nil {
		return err
	}
	// Ready when the certificate comes through the service proxy.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.FetchCert(ctx)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the controller's certificate never came through the proxy:\n%s", proc.TailFile(env.ctlLog, 30))
	}
	return nil
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
	args           string
}

// keyward runs the built binary with the shared kubeconfig and cfgHome as
// XDG_CONFIG_HOME (where the source-hash key lives).
func keyward(ctx context.Context, t testing.TB, dir, cfgHome string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, env.bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"KUBECONFIG=" + env.kubeconfig, "XDG_CONFIG_HOME=" + cfgHome, "HOME=" + cfgHome, "PATH=" + os.Getenv("PATH")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running keyward %s: %v", strings.Join(args, " "), err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String(), args: strings.Join(args, " ")}
}

func (r result) must(t testing.TB) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("keyward %s: exit %d\nstdout:\n%s\nstderr:\n%s", r.args, r.code, r.stdout, r.stderr)
	}
	return r
}

// planted returns a value unique to this run, to search outputs for.
func planted(what string) string { return "planted-" + what + "-" + rand.String(10) }

// noLeak fails t when text holds any of values in any encoding.
func noLeak(t testing.TB, where, text string, values []string) {
	t.Helper()
	for _, v := range values {
		for _, f := range leak.In(text, v) {
			t.Errorf("%s holds a planted value (%s)", where, f.Name)
		}
	}
}

// noLeakInFiles searches every file under dir.
func noLeakInFiles(t testing.TB, dir string, values []string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil {
			noLeak(t, path, string(b), values)
		}
		return nil
	})
}

// noLeakInLog searches the controller's log.
func noLeakInLog(t testing.TB, values []string) {
	t.Helper()
	b, err := os.ReadFile(env.ctlLog)
	if err != nil {
		t.Fatal(err)
	}
	noLeak(t, "the controller's log", string(b), values)
}

func newNamespace(ctx context.Context, t testing.TB) string {
	t.Helper()
	name := "ms-" + rand.String(6)
	if _, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// killAfter runs the binary and kills it with SIGKILL once its progress
// output (standard error) has n lines.
func killAfter(ctx context.Context, t *testing.T, dir, cfgHome string, n int, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, env.bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"KUBECONFIG=" + env.kubeconfig, "XDG_CONFIG_HOME=" + cfgHome, "HOME=" + cfgHome, "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout = &out
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var stderr bytes.Buffer
	buf := make([]byte, 4096)
	killed := false
	for {
		m, err := pr.Read(buf)
		stderr.Write(buf[:m])
		if !killed && strings.Count(stderr.String(), "\n") >= n {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the run ended before it could be killed (%v):\n%s", err, stderr.String())
	}
	return out.String() + stderr.String()
}
