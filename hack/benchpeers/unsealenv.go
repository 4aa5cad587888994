package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/proc"
)

// cgroupRoot is where the cgroup v1 memory controller is mounted.
const cgroupRoot = "/sys/fs/cgroup/memory"

// memCgroup is a cgroup v1 memory cgroup made for one controller, below the
// one this process runs in, so the controller stays under the same limits
// and accounting as everything else this command starts.
type memCgroup struct{ dir string }

// newMemCgroup makes the cgroup, or says why it cannot.
func newMemCgroup(name string) (*memCgroup, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	own := ""
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-id:controllers:path
		if f := strings.SplitN(line, ":", 3); len(f) == 3 && f[1] == "memory" {
			own = f[2]
		}
	}
	if own == "" {
		return nil, errors.New("no cgroup v1 memory controller in /proc/self/cgroup")
	}
	dir := filepath.Join(cgroupRoot, own, fmt.Sprintf("bench-peers-%s-%d", name, os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making a memory cgroup: %w", err)
	}
	return &memCgroup{dir: dir}, nil
}

// workingSet is what kubelet reports for a container with cgroup v1:
// memory.usage_in_bytes minus total_inactive_file of memory.stat.
func (c *memCgroup) workingSet() (int64, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.usage_in_bytes"))
	if err != nil {
		return 0, err
	}
	usage, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, err
	}
	st, err := os.ReadFile(filepath.Join(c.dir, "memory.stat"))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(st))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "total_inactive_file "); ok {
			inactive, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, err
			}
			return max(usage-inactive, 0), nil
		}
	}
	return 0, errors.New("no total_inactive_file in memory.stat")
}

// remove deletes the cgroup once its process has exited; what is still
// charged to it (page cache) moves to the parent.
func (c *memCgroup) remove() {
	for i := 0; i < 50; i++ {
		if err := os.Remove(c.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	progress("unseal: could not remove the cgroup %s", c.dir)
}

// controller is the process under measurement, either tool's.
type controller interface {
	Pid() int
	Exited() <-chan struct{}
	Stop()
	Log() string
}

// keywardProcess is `keyward controller` run as its own process.
type keywardProcess struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	health  string
}

// joinCgroup runs "$@" after joining the cgroup folder $1 (when not
// empty), so all the program charges from its first page is counted there.
const joinCgroup = `[ -z "$1" ] || echo $$ > "$1/cgroup.procs" || exit 1; shift; exec "$@"`

// startKeyward runs the keyward controller at its defaults (only the
// SealedSecret controller on, as Bitnami's runs only that; its kubeseal
// HTTP API, health and metrics servers on loopback ports), with keys in
// ctlNS, as the ServiceAccount of kubeconfig.
func startKeyward(bin, kubeconfig, ctlNS, cgroup, dir string) (*keywardProcess, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := proc.PickAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	args := []string{"controller", "--kubeconfig", kubeconfig, "--controller-namespace", ctlNS,
		"--listen-addr", addrs[0], "--health-addr", addrs[1], "--listen-metrics-addr", addrs[2]}
	for _, c := range manager.Controllers() {
		if c.Name != "sealedsecret" {
			args = append(args, "--enable-"+c.Name+"=false")
		}
	}
	p := &keywardProcess{logPath: filepath.Join(dir, "keyward.log"), exited: make(chan struct{}), health: addrs[1]}
	log, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	p.cmd = exec.Command("/bin/sh", append([]string{"-c", joinCgroup, "sh", cgroup, bin}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	waited, err := proc.Start(p.cmd)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { <-waited; close(p.exited) }()
	if err := waitHTTP(p.exited, "http://"+p.health+"/readyz"); err != nil {
		p.Stop()
		return nil, fmt.Errorf("keyward controller: %w; log:\n%s", err, proc.Tail(p.Log(), 20))
	}
	return p, nil
}

func (p *keywardProcess) Pid() int                { return p.cmd.Process.Pid }
func (p *keywardProcess) Exited() <-chan struct{} { return p.exited }
func (p *keywardProcess) Stop()                   { proc.Stop(p.cmd.Process, chanErr(p.exited), 10*time.Second) }

func (p *keywardProcess) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// chanErr adapts a closed-on-exit channel to proc.Stop's.
func chanErr(exited <-chan struct{}) <-chan error {
	ch := make(chan error, 1)
	go func() { <-exited; ch <- nil }()
	return ch
}

// waitHTTP waits up to two minutes for url to answer 200.
func waitHTTP(exited <-chan struct{}, url string) error {
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case <-exited:
			return errors.New("exited at start")
		case <-deadline:
			return fmt.Errorf("%s did not answer 200 within two minutes", url)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// waitIdle waits until pid has used at most 1% of a CPU over window (the
// Go runtime of an idle controller uses less), or until limit passes, and
// returns its CPU time then. It tells when start-up work (listing every
// Secret) or trailing work (status updates, events) is over.
func waitIdle(pid int, window, limit time.Duration) (time.Duration, error) {
	end := time.Now().Add(limit)
	last, err := proc.CPU(pid)
	if err != nil {
		return 0, err
	}
	for {
		time.Sleep(window)
		now, err := proc.CPU(pid)
		if err != nil {
			return 0, err
		}
		if now-last <= window/100 || time.Now().After(end) {
			return now, nil
		}
		last = now
	}
}

// keywardRBAC is the RBAC Keyward's SealedSecret install grants
// (deploy/components/sealed-secrets/role.yaml), bound to the ServiceAccount
// sa in ns, its Role moved to ns.
func keywardRBAC(ns, sa string) ([]client.Object, error) {
	path := filepath.Join("deploy", "components", "sealed-secrets", "role.yaml")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: sa}}
	var objs []client.Object
	dec := yaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        metav1.ObjectMeta   `json:"metadata"`
			Rules           []rbacv1.PolicyRule `json:"rules"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		name := doc.Metadata.Name + "-bench"
		switch doc.Kind {
		case "ClusterRole":
			objs = append(objs,
				&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: doc.Rules},
				&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
					RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}})
		case "Role":
			objs = append(objs,
				&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: doc.Rules},
				&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subjects: subject,
					RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}})
		}
	}
	if len(objs) != 4 {
		return nil, fmt.Errorf("%s: want one ClusterRole and one Role, found %d objects", path, len(objs)/2)
	}
	return objs, nil
}

// writeKubeconfig writes a kubeconfig for the token connection cfg.
func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	return clientcmd.WriteToFile(*kc, path)
}

// createObjects creates objs in order.
func createObjects(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// copyBinary copies the executable src into dir. A binary the Go linker
// just wrote sits in the page cache in large folios that a process maps
// whole, several MB more resident than the same file installed by copying,
// as an image's is; both controllers run from copies, as shipped.
func copyBinary(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	return dst, out.Close()
}

// tuningVars change how a Go program uses memory or CPUs; set here, they
// would reach both controllers and neither would run at its defaults.
var tuningVars = []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"}

func checkDefaultsEnv() error {
	for _, v := range tuningVars {
		if _, set := os.LookupEnv(v); set {
			return fmt.Errorf("%s is set: the controllers must run at their defaults; unset it", v)
		}
	}
	return nil
}
