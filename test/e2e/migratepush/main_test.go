// Package migratepush runs `keyward migrate push` and `migrate promote`
// against the real control plane (with kube-controller-manager, whose
// garbage collector orphans a Secret when its SealedSecret is deleted),
// the SealedSecret and ExternalSecret controllers running in this process,
// a real Vault and moto_server for AWS Secrets Manager.
package migratepush

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/cli"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/leak"
	"github.com/keyward/keyward/test/proc"
)

var (
	cluster *testcluster.Cluster
	// kc is an admin client that knows our kinds.
	kc client.Client
	// stopAtEnd stops the package's controllers before the cluster stops.
	stopAtEnd []func()
)

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{BeforeStop: func() {
		for _, stop := range stopAtEnd {
			stop()
		}
	}}, &cluster))
}

// lockedBuffer collects the controllers' log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) add(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s + "\n")
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is the controllers running for the whole package: ExternalSecrets,
// stores and SealedSecrets (keys in keyNS).
type env struct {
	logs  *lockedBuffer
	keys  *keys.Registry
	keyNS string
}

var (
	envOnce sync.Once
	envVal  *env
	envErr  error
)

func controllers(t testing.TB) *env {
	t.Helper()
	envOnce.Do(func() {
		e := &env{logs: &lockedBuffer{}, keyNS: "keyward-keys"}
		scheme, err := manager.Scheme()
		if err != nil {
			envErr = err
			return
		}
		if kc, err = client.New(cluster.Config, client.Options{Scheme: scheme}); err != nil {
			envErr = err
			return
		}
		ctrl.SetLogger(funcr.NewJSON(e.logs.add, funcr.Options{Verbosity: 1}))
		if err := cluster.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.keyNS}}); err != nil {
			envErr = err
			return
		}
		cfg := *cluster.Config
		cfg.QPS, cfg.Burst = 200, 400
		ctx, cancel := context.WithCancel(context.Background())
		mgr, err := manager.New(ctx, manager.Options{
			Config: &cfg, MetricsAddr: "0", HealthAddr: "0", Registry: prometheus.NewRegistry(), Workers: 10,
			Providers: manager.DefaultProviders(&cfg),
			Enabled:   manager.Only("externalsecret", "secretstore", "clustersecretstore", "sealedsecret"),
			SealedSecrets: manager.SealedSecretsOptions{
				Keys:         keys.RegistryOptions{Namespace: e.keyNS, KeySize: 2048},
				UpdateStatus: true, Workers: 4, ListenAddr: "0",
				OnKeys: func(r *keys.Registry) { e.keys = r },
			},
			SkipNameValidation: true,
		})
		if err != nil {
			cancel()
			envErr = err
			return
		}
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			if err := mgr.Start(ctx); err != nil {
				e.logs.add("manager stopped: " + err.Error())
			}
		}()
		stopAtEnd = append(stopAtEnd, func() { cancel(); <-stopped })
		envVal = e
	})
	if envErr != nil {
		t.Fatalf("starting the controllers: %v", envErr)
	}
	return envVal
}

// currentKey waits for the sealing key the controller makes.
func (e *env) currentKey(ctx context.Context, t testing.TB) keys.Key {
	t.Helper()
	var k keys.Key
	eventually(ctx, t, "a sealing key", func() (bool, error) {
		if e.keys == nil {
			return false, nil
		}
		var ok bool
		k, ok = e.keys.Current()
		return ok, nil
	})
	return k
}

func eventually(ctx context.Context, t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last error: %v)", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func newNamespace(ctx context.Context, t testing.TB, prefix string) string {
	t.Helper()
	name := prefix + "-" + rand.String(5)
	if err := cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// result is one run of the keyward command line.
type result struct {
	code           int
	stdout, stderr string
	args           string
}

func (r result) String() string {
	return fmt.Sprintf("keyward %s: exit %d\nstdout:\n%s\nstderr:\n%s", r.args, r.code, r.stdout, r.stderr)
}

// keyward runs the command line in-process with the admin kubeconfig and
// a home of the test's own (where promote keeps its HMAC key).
func keyward(t testing.TB, home string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(append([]string{"keyward"}, args...), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		func(name string) string {
			switch name {
			case "HOME":
				return home
			case "KUBECONFIG":
				return cluster.Kubeconfig
			}
			return os.Getenv(name)
		})
	return result{code: code, stdout: out.String(), stderr: errOut.String(), args: strings.Join(args, " ")}
}

var (
	binOnce sync.Once
	bin     string
	binErr  error
)

// keywardBinary builds the keyward command once, for the tests that kill
// it or measure it.
func keywardBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyward-migratepush-")
		if err != nil {
			binErr = err
			return
		}
		bin, binErr = proc.BuildKeyward(dir)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bin
}

// binaryCmd is the built binary with the admin kubeconfig and HOME.
func binaryCmd(t testing.TB, home string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(keywardBinary(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig, "HOME="+home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	return cmd, &out, &errOut
}

// noLeak fails t when text holds any planted value in any encoding.
func noLeak(t testing.TB, where, text string, values ...string) {
	t.Helper()
	for _, v := range values {
		for _, f := range leak.In(text, v) {
			t.Errorf("%s holds a planted value (%s)", where, f.Name)
		}
	}
}

// guard watches one Secret and records every moment it was missing or
// held other data than want: the proof that a hand-over never left a
// workload without its Secret.
type guard struct {
	mu       sync.Mutex
	problems []string
	events   int
	stop     func()
}

func watchSecret(ctx context.Context, t testing.TB, ns, name string, want map[string][]byte) *guard {
	t.Helper()
	return watchSecrets(ctx, t, ns, map[string]map[string][]byte{name: want})
}

// watchSecrets watches every Secret of ns named in want.
func watchSecrets(ctx context.Context, t testing.TB, ns string, want map[string]map[string][]byte) *guard {
	t.Helper()
	g := &guard{}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	g.stop = func() { cancel(); <-done }
	t.Cleanup(g.stop)
	opts := metav1.ListOptions{AllowWatchBookmarks: true}
	if len(want) == 1 {
		for name := range want {
			opts.FieldSelector = "metadata.name=" + name
		}
	}
	go func() {
		defer close(done)
		for wctx.Err() == nil {
			w, err := cluster.Clientset.CoreV1().Secrets(ns).Watch(wctx, opts)
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					opts.ResourceVersion = "" // too old after a restart: start over from the current state
					continue
				}
				s, ok := ev.Object.(*corev1.Secret)
				if !ok {
					continue
				}
				opts.ResourceVersion = s.ResourceVersion
				wantData, watched := want[s.Name]
				if ev.Type == watch.Bookmark || !watched {
					continue
				}
				g.mu.Lock()
				g.events++
				switch {
				case ev.Type == watch.Deleted:
					g.problems = append(g.problems, "Secret "+s.Name+" deleted at resourceVersion "+s.ResourceVersion)
				case !sameData(s.Data, wantData):
					g.problems = append(g.problems, "Secret "+s.Name+" data differed at resourceVersion "+s.ResourceVersion)
				}
				g.mu.Unlock()
			}
			w.Stop()
		}
	}()
	return g
}

// check stops the watch and fails t for any moment the Secret was gone or different.
func (g *guard) check(t testing.TB, what string) {
	t.Helper()
	g.stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.problems {
		t.Errorf("%s: %s", what, p)
	}
	if g.events == 0 {
		t.Errorf("%s: the watch saw no event at all, so it proves nothing", what)
	}
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
