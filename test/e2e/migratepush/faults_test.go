package migratepush

import (
	"context"
	"fmt"
	"io"
	"net"
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
	"k8s.io/client-go/tools/clientcmd"

	testvault "github.com/keyward/keyward/test/vault"
)

// makeSecrets creates n Secrets app-NNN in ns, each with two planted
// values, and returns their data by name.
func makeSecrets(ctx context.Context, t testing.TB, ns string, n int) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("app-%03d", i)
		data := map[string][]byte{
			"postgres-db-uri": []byte("postgresql://app:PLANTED-" + rand.String(16) + "@db/app"),
			"api-key":         []byte("PLANTED-KEY-" + rand.String(16)),
		}
		if _, err := cluster.Clientset.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

func planted(secrets map[string]map[string][]byte) []string {
	var out []string
	for _, d := range secrets {
		for _, v := range d {
			out = append(out, string(v))
		}
	}
	return out
}

// intact fails t unless every Secret is there with its data; with owned,
// each must also be its ExternalSecret's.
func intact(ctx context.Context, t testing.TB, ns string, secrets map[string]map[string][]byte, owned bool) {
	t.Helper()
	l, err := cluster.Clientset.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]*corev1.Secret{}
	for i := range l.Items {
		have[l.Items[i].Name] = &l.Items[i]
	}
	bad := 0
	for name, want := range secrets {
		s := have[name]
		switch {
		case s == nil:
			t.Errorf("Secret %s/%s is gone", ns, name)
			bad++
		case !sameData(s.Data, want):
			t.Errorf("Secret %s/%s holds other data", ns, name)
			bad++
		case owned:
			if ctl := metav1.GetControllerOf(s); ctl == nil || ctl.Kind != "ExternalSecret" || ctl.Name != name {
				t.Errorf("Secret %s/%s is not its ExternalSecret's (controller %+v)", ns, name, ctl)
				bad++
			}
		}
		if bad > 5 {
			t.Fatal("giving up after 5 bad Secrets")
		}
	}
}

func countES(ctx context.Context, t testing.TB, ns string) int {
	l, err := dyn(t).Resource(esGVR("v1")).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	return len(l.Items)
}

func pushArgs(ns string, extra ...string) []string {
	return append([]string{"migrate", "push", "-n", ns, "--store", "vault-backend", "--path", "aura/{{.Namespace}}/{{.Name}}"}, extra...)
}

// TestFaultStoreDown: Vault stops in the middle of a push. The command
// fails naming the store and the remote path, no Secret is lost or
// changed, and once Vault is back (empty: a dev server keeps nothing) a
// rerun finishes the job.
func TestFaultStoreDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := controllers(t)
	v := testvault.Start(t, testvault.Options{})
	ns := newNamespace(ctx, t, "storedown")
	vaultStore(ctx, t, v, ns)
	secrets := makeSecrets(ctx, t, ns, 150)
	home := t.TempDir()
	cmd, out, errOut := binaryCmd(t, home, pushArgs(ns, "--workers", "1", "--timeout", "30s")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "a few values in Vault", func() (bool, error) {
		l, err := v.Client.Logical().List("secret/metadata/aura/" + ns)
		if err != nil || l == nil {
			return false, err
		}
		ks, _ := l.Data["keys"].([]any)
		return len(ks) >= 5, nil
	})
	v.Halt()
	err := cmd.Wait()
	if err == nil {
		t.Fatalf("push succeeded with Vault down:\n%s", out)
	}
	store := "SecretStore/" + ns + "/vault-backend"
	if !strings.Contains(errOut.String(), store) || !strings.Contains(errOut.String(), "aura/"+ns+"/app-") {
		t.Errorf("the error does not name the store %s and the path:\n%s", store, errOut)
	}
	intact(ctx, t, ns, secrets, false)
	noLeak(t, "output with Vault down", out.String()+errOut.String(), planted(secrets)...)

	if err := v.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	r := keyward(t, home, pushArgs(ns, "--timeout", "3m")...)
	if r.code != 0 {
		t.Fatalf("the rerun did not finish: %s", r)
	}
	intact(ctx, t, ns, secrets, true)
	noLeak(t, "rerun output", r.stdout+r.stderr, planted(secrets)...)
	noLeak(t, "controller log", e.logs.String(), planted(secrets)...)
}

// TestFaultKill: the command is killed with SIGKILL halfway; nothing is
// lost, and a rerun finishes.
func TestFaultKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := controllers(t)
	v := testvault.Start(t, testvault.Options{})
	ns := newNamespace(ctx, t, "kill")
	vaultStore(ctx, t, v, ns)
	secrets := makeSecrets(ctx, t, ns, 120)
	home := t.TempDir()
	out := t.TempDir()
	cmd, stdout, stderr := binaryCmd(t, home, pushArgs(ns, "--workers", "2", "--out", out)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "some ExternalSecrets applied", func() (bool, error) { return countES(ctx, t, ns) >= 10, nil })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the command was not killed (it finished first?): %v\n%s", err, stdout)
	}
	if n := countES(ctx, t, ns); n >= len(secrets) {
		t.Fatalf("the kill came too late: %d ExternalSecrets already applied", n)
	}
	intact(ctx, t, ns, secrets, false)
	r := keyward(t, home, pushArgs(ns, "--out", out, "--timeout", "3m")...)
	if r.code != 0 {
		t.Fatalf("the rerun did not finish: %s", r)
	}
	if !strings.Contains(r.stderr, "skipping Secret "+ns+"/vault-token: the credentials of --store vault-backend") {
		t.Errorf("the store's own token was not left out:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("the rerun did not find the work done before the kill:\n%s", r.stdout)
	}
	intact(ctx, t, ns, secrets, true)
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(files) != len(secrets) {
		var odd []string
		for _, f := range files {
			if !strings.HasSuffix(f, ".externalsecret.yaml") || strings.HasPrefix(filepath.Base(f), ".") {
				odd = append(odd, filepath.Base(f))
			}
		}
		t.Errorf("%d files in the manifest folder, want %d manifests and no temporary leftovers (odd: %v)", len(files), len(secrets), odd)
	}
	noLeak(t, "output", stdout.String()+stderr.String()+r.stdout+r.stderr, planted(secrets)...)
	noLeak(t, "controller log", e.logs.String(), planted(secrets)...)
}

// TestFaultAPIServerAway: the API server becomes unreachable (every
// connection cut, new ones refused for 10 s) while the command waits for
// its ExternalSecrets; it carries on when the server answers again.
//
// testcluster's RestartAPIServer gives the API server new certificates
// and credentials, which no running client survives; a proxy that drops
// and refuses connections is what the client sees of a restart.
func TestFaultAPIServerAway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := controllers(t)
	v := testvault.Start(t, testvault.Options{})
	ns := newNamespace(ctx, t, "apiaway")
	vaultStore(ctx, t, v, ns)
	secrets := makeSecrets(ctx, t, ns, 80)
	p := startProxy(t, cluster.Config.Host)
	kc, err := clientcmd.LoadFromFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + p.addr
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd, stdout, stderr := binaryCmd(t, home, pushArgs(ns, "--workers", "2", "--timeout", "3m", "--kubeconfig", kubeconfig)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	eventually(ctx, t, "the first ExternalSecrets applied", func() (bool, error) {
		select {
		case err := <-exited:
			t.Fatalf("push ended before the outage: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		default:
		}
		return countES(ctx, t, ns) >= 5, nil
	})
	p.cut()
	time.Sleep(10 * time.Second)
	p.restore(t)
	if err := <-exited; err != nil {
		t.Fatalf("push did not survive the API server going away: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if p.cuts == 0 {
		t.Fatal("no connection was cut: the outage did not happen while the command ran")
	}
	intact(ctx, t, ns, secrets, true)
	noLeak(t, "output", stdout.String()+stderr.String(), planted(secrets)...)
	noLeak(t, "controller log", e.logs.String(), planted(secrets)...)
}

// proxy forwards TCP to the API server and can drop everything.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
	cuts         int
}

func startProxy(t testing.TB, host string) *proxy {
	t.Helper()
	target := strings.TrimSuffix(strings.TrimPrefix(host, "https://"), "/")
	p := &proxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: new ones are refused.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.cuts += len(p.conns)
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// TestFaultKillDuringCleanup: SIGKILL while --cleanup hands 60
// SealedSecrets' Secrets over (some SealedSecrets deleted, their Secrets
// orphaned, others not yet). A watch on every Secret proves none vanished
// or changed; a rerun finishes the hand-over.
func TestFaultKillDuringCleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := controllers(t)
	v := testvault.Start(t, testvault.Options{})
	ns := newNamespace(ctx, t, "killcleanup")
	vaultStore(ctx, t, v, ns)
	key := e.currentKey(ctx, t)
	const n = 60
	secrets := map[string]map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("sealed-%02d", i)
		data := map[string][]byte{"postgres-db-uri": []byte("postgresql://app:PLANTED-" + rand.String(16) + "@db/app")}
		create(ctx, t, sealNamed(t, &key.Private.PublicKey, ns, name, data))
		secrets[name] = data
	}
	eventually(ctx, t, "every SealedSecret's Secret", func() (bool, error) {
		l, err := cluster.Clientset.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		made := 0
		for i := range l.Items {
			if ctl := metav1.GetControllerOf(&l.Items[i]); ctl != nil && ctl.Kind == "SealedSecret" {
				made++
			}
		}
		return made == n, nil
	})
	countSealed := func() int {
		l, err := dyn(t).Resource(sealedSecretGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return -1
		}
		return len(l.Items)
	}
	g := watchSecrets(ctx, t, ns, secrets)
	home := t.TempDir()
	cmd, stdout, stderr := binaryCmd(t, home, pushArgs(ns, "--workers", "2", "--cleanup")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	eventually(ctx, t, "some SealedSecrets deleted", func() (bool, error) {
		select {
		case err := <-exited:
			t.Fatalf("push ended before the kill: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		default:
		}
		c := countSealed()
		return c >= 0 && c <= n-5, nil
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	left := countSealed()
	if left == 0 {
		t.Fatal("the kill came too late: every SealedSecret was already deleted")
	}
	intact(ctx, t, ns, secrets, false)
	r := keyward(t, home, pushArgs(ns, "--cleanup", "--timeout", "3m")...)
	if r.code != 0 {
		t.Fatalf("the rerun did not finish: %s", r)
	}
	intact(ctx, t, ns, secrets, true)
	if c := countSealed(); c != 0 {
		t.Errorf("%d SealedSecrets left after the rerun", c)
	}
	g.check(t, "Secrets during the killed --cleanup and its rerun")
	t.Logf("killed with %d of %d SealedSecrets left; the rerun finished", left, n)
	noLeak(t, "output", stdout.String()+stderr.String()+r.stdout+r.stderr, planted(secrets)...)
	noLeak(t, "controller log", e.logs.String(), planted(secrets)...)
}
