package peers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/test/proc"
)

// InCluster is what a Pod's ServiceAccount gives the program in it.
type InCluster struct {
	// Host is the API server's address, https://host:port or host:port.
	Host      string
	CA        []byte
	Token     string
	Namespace string
}

// serviceAccountDir is where client-go's in-cluster config reads the token,
// CA and namespace; it is not configurable.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// inPod runs "$@" with src mounted at the ServiceAccount folder. The shell
// runs in a mount namespace of its own (see StartController), so nothing
// it mounts is seen outside it. Where the folder does not exist, an empty
// tmpfs over its nearest existing parent makes room for it. When cg is
// not empty, the shell first joins that cgroup v1 folder, so everything
// the controller charges from its first page on is counted there.
const inPod = `set -e
src=$1; cg=$2; shift 2
[ -z "$cg" ] || echo $$ > "$cg/cgroup.procs"
sa=` + serviceAccountDir + `
if [ ! -d "$sa" ]; then
	top=/var/run/secrets
	[ -d "$top" ] || top=/var/run
	mount -t tmpfs -o size=1m,mode=0755 keyward-peer "$top"
	mkdir -p "$sa"
fi
mount --bind "$src" "$sa"
exec "$@"`

// Controller is Bitnami's sealed-secrets controller running as a process.
type Controller struct {
	// HTTPAddr serves kubeseal's API (/v1/cert.pem, /v1/verify, /v1/rotate).
	HTTPAddr string
	// MetricsAddr serves /metrics.
	MetricsAddr string
	cmd         *exec.Cmd
	logPath     string
	exited      chan struct{}
}

// StartController runs Bitnami's controller bin against the API server in
// ic as it runs in a Pod: KUBERNETES_SERVICE_HOST/PORT set, the token, CA
// and namespace at the in-Pod path (it accepts no kubeconfig). That path
// is mounted in a private mount namespace, so the host's is never touched;
// this needs root (CAP_SYS_ADMIN). It listens on loopback ports of its
// own; args add to or override its flags. It returns once /healthz
// answers, and is killed when the test ends.
func StartController(t testing.TB, bin string, ic InCluster, args ...string) *Controller {
	t.Helper()
	c, err := Launch(bin, ic, LaunchOptions{Dir: t.TempDir()}, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("Bitnami's controller log:\n%s", c.Log())
		}
	})
	return c
}

// LaunchOptions tune Launch.
type LaunchOptions struct {
	// Dir holds the controller's ServiceAccount files and its log.
	Dir string
	// Cgroup, when set, is a cgroup v1 folder (as
	// /sys/fs/cgroup/memory/x) the controller joins before it starts.
	Cgroup string
}

// Launch is StartController for callers that are not tests: it returns an
// error, and the caller stops the controller (it dies with the caller
// too). On error, nothing is left running.
func Launch(bin string, ic InCluster, o LaunchOptions, args ...string) (*Controller, error) {
	host := ic.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("peers: API server URL %q needs a host and a port", ic.Host)
	}
	sa := filepath.Join(o.Dir, "serviceaccount")
	if err := os.Mkdir(sa, 0o755); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	for name, data := range map[string][]byte{"token": []byte(ic.Token), "ca.crt": ic.CA, "namespace": []byte(ic.Namespace)} {
		if err := os.WriteFile(filepath.Join(sa, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
	}
	c := &Controller{logPath: filepath.Join(o.Dir, "controller.log"), exited: make(chan struct{})}
	if c.HTTPAddr, err = proc.PickAddr(); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if c.MetricsAddr, err = proc.PickAddr(); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	log, err := os.Create(c.logPath)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	defer log.Close()
	all := append([]string{"--listen-addr", c.HTTPAddr, "--listen-metrics-addr", c.MetricsAddr}, args...)
	c.cmd = exec.Command("/bin/sh", append([]string{"-c", inPod, "sh", sa, o.Cgroup, bin}, all...)...)
	c.cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST="+u.Hostname(), "KUBERNETES_SERVICE_PORT="+u.Port())
	c.cmd.Stdout, c.cmd.Stderr = log, log
	// CLONE_NEWNS here also makes every mount private to the child, so the
	// bind mounts never propagate back to the host.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	waited, err := proc.Start(c.cmd)
	if err != nil {
		return nil, fmt.Errorf("peers: starting Bitnami's controller in a private mount namespace: %w", err)
	}
	go func() { <-waited; close(c.exited) }()
	if err := c.waitHealthy(); err != nil {
		c.Stop()
		return nil, err
	}
	// Serving means the mounts are made; none may show outside.
	if b, err := os.ReadFile(filepath.Join(serviceAccountDir, "token")); err == nil && string(b) == ic.Token {
		c.Stop()
		return nil, fmt.Errorf("peers: the token mounted for Bitnami's controller shows at %s outside its mount namespace", serviceAccountDir)
	}
	return c, nil
}

// Pid is the controller's process id (the shell that mounts its
// ServiceAccount folder execs it, so it keeps the shell's).
func (c *Controller) Pid() int { return c.cmd.Process.Pid }

// Exited is closed when the controller has exited.
func (c *Controller) Exited() <-chan struct{} { return c.exited }

func (c *Controller) waitHealthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("peers: Bitnami's controller exited at start; log:\n%s", c.Log())
		case <-ctx.Done():
			return fmt.Errorf("peers: Bitnami's controller did not answer /healthz; log:\n%s", c.Log())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + c.HTTPAddr + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// Stop ends the controller and waits for it; calling it again does nothing.
func (c *Controller) Stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// Log is everything the controller wrote so far.
func (c *Controller) Log() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return strings.TrimSpace(string(b))
}
