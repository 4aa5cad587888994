package dropin

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/proc"
)

var (
	binOnce sync.Once
	bin     string
	binErr  error
)

// keywardBinary builds the keyward command once per test run.
func keywardBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyward-dropin-")
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

// install makes a namespace and a ServiceAccount in it bound to these
// cluster-wide and namespace rules, as a peer's chart does, and returns
// the namespace and a kubeconfig that acts as that ServiceAccount.
func install(ctx context.Context, t *testing.T, c *testcluster.Cluster, name string, clusterRules, nsRules []rbacv1.PolicyRule) (string, string) {
	t.Helper()
	ns := name + "-" + rand.String(5)
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns}, Rules: clusterRules},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ns},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: nsRules},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: name}}},
	}
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
	cfg, err := c.ServiceAccountConfig(ctx, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return ns, writeKubeconfig(t, cfg)
}

// writeKubeconfig writes cfg (a bearer token connection) as a kubeconfig file.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testcluster.WriteKubeconfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

// controller is a controller running as its own process: `keyward
// controller`, or a peer's controller run the same way.
type controller struct {
	cmd    *exec.Cmd
	log    string
	exited chan error
}

// startController runs `keyward controller args...` with env added to its
// environment, and stops it when the test ends, failing the test if it
// exited by itself or did not stop cleanly.
func startController(t *testing.T, env []string, args ...string) *controller {
	t.Helper()
	return startProcess(t, keywardBinary(t), env, append([]string{"controller"}, args...)...)
}

// startProcess runs bin args... as startController runs keyward.
func startProcess(t *testing.T, bin string, env []string, args ...string) *controller {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "controller-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	waited, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	c := &controller{cmd: cmd, log: logf.Name(), exited: make(chan error, 1)}
	go func() { c.exited <- <-waited; logf.Close() }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop ends the process with SIGTERM, as Kubernetes does, and wants a
// clean exit; a process that ended on its own is a failure.
func (c *controller) stop(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.exited:
		c.exited <- err
		t.Errorf("the controller had exited by itself (%v); log:\n%s", err, c.tail(40))
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		c.exited <- err
		if err != nil {
			t.Errorf("the controller stopped with %v; log:\n%s", err, c.tail(40))
		}
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		t.Errorf("the controller did not stop within 30 s of SIGTERM; log:\n%s", c.tail(40))
	}
}

// running fails the test when the process has exited.
func (c *controller) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.exited:
		c.exited <- err
		t.Fatalf("the controller exited (%v); log:\n%s", err, c.tail(40))
	default:
	}
}

func (c *controller) tail(n int) string { return proc.TailFile(c.log, n) }

// waitLog waits until a line of the log holds every one of parts.
func (c *controller) waitLog(ctx context.Context, t *testing.T, parts ...string) {
	t.Helper()
	eventually(ctx, t, c, fmt.Sprintf("a log line with %q", parts), func(context.Context) (bool, error) {
		f, err := os.Open(c.log)
		if err != nil {
			return false, err
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		s.Buffer(nil, 1<<20)
	lines:
		for s.Scan() {
			for _, p := range parts {
				if !strings.Contains(s.Text(), p) {
					continue lines
				}
			}
			return true, nil
		}
		return false, s.Err()
	})
}

// waitMetric waits until the metrics endpoint at addr has this sample line.
func (c *controller) waitMetric(ctx context.Context, t *testing.T, addr, sample string) {
	t.Helper()
	eventually(ctx, t, c, "metric "+sample, func(context.Context) (bool, error) {
		body, err := get("http://" + addr + "/metrics")
		if err != nil {
			return false, nil // not listening yet
		}
		return strings.Contains(body, "\n"+sample+"\n"), nil
	})
}

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// certFrom fetches the sealing certificate from the kubeseal HTTP API, as
// kubeseal --fetch-cert does.
func certFrom(ctx context.Context, t *testing.T, c *controller, addr string) *rsa.PublicKey {
	t.Helper()
	var pub *rsa.PublicKey
	eventually(ctx, t, c, "the certificate at "+addr, func(context.Context) (bool, error) {
		body, err := get("http://" + addr + "/v1/cert.pem")
		if err != nil {
			return false, nil
		}
		block, _ := pem.Decode([]byte(body))
		if block == nil {
			return false, fmt.Errorf("no PEM in %q", body)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return false, err
		}
		pub = cert.PublicKey.(*rsa.PublicKey)
		return true, nil
	})
	return pub
}

// eventually polls cond for up to 90 s, failing early when the controller exits.
func eventually(ctx context.Context, t *testing.T, c *controller, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-c.exited:
			c.exited <- err
			return false, fmt.Errorf("the controller exited: %v", err)
		default:
		}
		return cond(ctx)
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; controller log:\n%s", what, err, c.tail(40))
	}
}

// adminClient acts as the cluster's admin with Keyward's types.
func adminClient(t *testing.T, c *testcluster.Cluster) client.Client {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
