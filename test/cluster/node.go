package testcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	testnet "github.com/keyward/keyward/test/net"
	"github.com/keyward/keyward/test/proc"
)

// NodeName is the name the test node registers under.
const NodeName = "keyward-node"

// Binaries the node needs in its assets folder (hack/nodetools/build.sh).
var nodeBinaries = []string{"kubelet", "kube-scheduler", "kube-proxy", "containerd", "containerd-shim-runc-v2", "ctr"}

// Node is a kubelet with containerd, runc and the CNI bridge, plus
// kube-proxy, that runs the cluster's Pods on this machine.
//
// Everything of the node lives in a network namespace of its own (package
// testnet) joined to the root namespace by a veth pair, and in one private
// mount namespace that containerd and kubelet share: their mounts, /run
// and the Pods' network namespaces never show on the machine. The API
// server is reached from the node at the root end of the veth (a relay to
// its loopback port), which is also where the `kubernetes` Service sends
// Pods, through kube-proxy's rules; the root namespace routes the Pod
// network through the node, so the API server's service proxy, logs and
// exec reach Pods and the kubelet.
//
// The machine runs cgroup v1 inside a container, so the kubelet runs with
// cgroupfs under a cgroup root of its own (made here, cpuset copied from
// the parent), without node-allocatable enforcement, swap checks, local
// storage isolation or evictions; containerd restricts oom_score_adj
// (runc cannot raise it without CAP_SYS_RESOURCE) and leaves the hugetlb
// controller alone. The kernel settings the kubelet insists on are files
// mounted over /proc/sys inside the mount namespace, so the machine's own
// stay as they are.
type Node struct {
	// Name is the Node object's name.
	Name string
	// IP is the node's InternalIP, inside its network namespace.
	IP net.IP
	// HostIP is the machine's end of the node's link, where the API server
	// listens: a server a test or demo starts there is reachable from Pods.
	HostIP net.IP
	// PodCIDR is the range the CNI bridge hands Pod IPs from.
	PodCIDR string
	// AssetsDir holds the node binaries and the pause image.
	AssetsDir string

	dir        string
	host       *testnet.Host
	holder     *exec.Cmd
	holderErr  <-chan error
	daemons    []*daemon
	cgroupRoot string
	socket     string
	relay      net.Listener
}

type daemon struct {
	name   string
	cmd    *exec.Cmd
	exited <-chan error
	log    string
}

// kernel settings the kubelet sets when they differ (vm.overcommit_memory,
// kernel.panic, kernel.panic_on_oops): shown to it as files holding its
// values, inside the node's mount namespace.
var kubeletSysctls = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// prepareNode makes the node's network namespace and mount namespace, the
// parts the API server must know before it starts (its address).
func prepareNode(dir string) (*Node, error) {
	assets, err := NodeAssetsDir()
	if err != nil {
		return nil, err
	}
	sweepStaleNodes()
	index := os.Getpid()*8 + int(exposed.Add(1))
	host, err := testnet.New(index)
	if err != nil {
		return nil, err
	}
	n := &Node{
		Name:      NodeName,
		IP:        host.IP,
		HostIP:    host.RootIP,
		PodCIDR:   fmt.Sprintf("198.19.%d.0/24", index%256),
		AssetsDir: assets,
		// The owner's PID in the folder's name reaches the runc shims'
		// command lines (their -address), so a later run can tell theirs
		// are orphans (sweepStaleNodes).
		dir:  filepath.Join(dir, fmt.Sprintf("node-%d", os.Getpid())),
		host: host,
	}
	n.cgroupRoot = fmt.Sprintf("/keyward-node-%d-%d", os.Getpid(), index%8)
	n.socket = filepath.Join(n.dir, "containerd", "containerd.sock")
	if err := n.host.Route(n.PodCIDR); err != nil {
		n.stop()
		return nil, err
	}
	if err := n.startHolder(); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

// startHolder starts the process that holds the node's mount namespace:
// a tmpfs over /run (containerd's and runc's state, Pod network namespaces,
// iptables' lock) and the kubelet's kernel settings.
func (n *Node) startHolder() error {
	sysctls := filepath.Join(n.dir, "sysctl")
	if err := os.MkdirAll(sysctls, 0o755); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	script := []string{"set -e", "mount -t tmpfs -o mode=755 keyward-node-run /run"}
	keys := make([]string, 0, len(kubeletSysctls))
	for k := range kubeletSysctls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := filepath.Join(sysctls, strings.ReplaceAll(k, "/", "."))
		if err := os.WriteFile(f, []byte(kubeletSysctls[k]+"\n"), 0o644); err != nil {
			return fmt.Errorf("testcluster: %w", err)
		}
		script = append(script, fmt.Sprintf("mount --bind %s /proc/sys/%s", f, k))
	}
	script = append(script, "echo ready", "exec sleep infinity")
	cmd := exec.Command("nsenter", "--net=/run/netns/"+n.host.Name, "--",
		"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", strings.Join(script, "\n"))
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	exited, err := proc.Start(cmd)
	w.Close()
	if err != nil {
		return fmt.Errorf("testcluster: starting the node's namespace holder: %w", err)
	}
	n.holder, n.holderErr = cmd, exited
	// The script says "ready" once its mounts are made, or why it failed.
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		said <- strings.TrimSpace(line)
	}()
	select {
	case line := <-said:
		if line == "ready" {
			return nil
		}
		return fmt.Errorf("testcluster: node namespace holder: %s", line)
	case <-time.After(10 * time.Second):
		return errors.New("testcluster: node namespace holder did not get ready in 10 s")
	}
}

// configureAPIServer points the API server at the node: it advertises the
// root end of the node's link (which the `kubernetes` Service then names),
// serves a certificate valid for the Service's ClusterIP, admits Pods'
// ServiceAccount tokens, and reaches kubelets at their InternalIP with a
// client certificate. It still listens on loopback only: its own loopback
// client hangs at shutdown when it listens elsewhere, so the node reaches
// it through a relay on the link (see start).
func (n *Node) configureAPIServer(c *Cluster) error {
	api := c.env.ControlPlane.GetAPIServer()
	ca, err := writeAPIServerCerts(api.CertDir, []net.IP{net.IPv4(127, 0, 0, 1), n.HostIP, net.IPv4(10, 0, 0, 1)})
	if err != nil {
		return err
	}
	api.SecureServing.CA = ca
	args := api.Configure()
	args.Disable("disable-admission-plugins")
	args.Set("advertise-address", n.HostIP.String())
	args.Set("kubelet-preferred-address-types", "InternalIP")
	args.Set("kubelet-client-certificate", filepath.Join(api.CertDir, "kubelet-client.crt"))
	args.Set("kubelet-client-key", filepath.Join(api.CertDir, "kubelet-client.key"))
	return nil
}

// relayAPIServer listens on the node's link at the API server's port and
// relays to it, and writes the kubeconfig the node's daemons use.
func (n *Node) relayAPIServer(c *Cluster) (string, error) {
	port := c.env.ControlPlane.GetAPIServer().SecureServing.Port
	ln, err := net.Listen("tcp", net.JoinHostPort(n.HostIP.String(), port))
	if err != nil {
		return "", fmt.Errorf("testcluster: the API server's relay for the node: %w", err)
	}
	n.relay = ln
	go testnet.Forward(ln, net.JoinHostPort("127.0.0.1", port))
	kc, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return "", fmt.Errorf("testcluster: %w", err)
	}
	for _, cl := range kc.Clusters {
		cl.Server = "https://" + net.JoinHostPort(n.HostIP.String(), port)
	}
	path := filepath.Join(n.dir, "node.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("testcluster: %w", err)
	}
	return path, nil
}

// controllerManagerArgs are kube-controller-manager's flags on a cluster
// with a node: every controller (Deployments, ReplicaSets, EndpointSlices,
// PodDisruptionBudgets, node lifecycle, the kube-root-ca.crt publisher).
func (n *Node) controllerManagerArgs(certDir string) []string {
	return []string{
		"--controllers", "*",
		"--root-ca-file", filepath.Join(certDir, "ca.crt"),
		"--service-account-private-key-file", filepath.Join(certDir, "sa-signer.key"),
		"--allocate-node-cidrs=false",
	}
}

// start runs containerd, imports the pause image, and starts the scheduler,
// the kubelet and kube-proxy; it returns when the Node is Ready.
func (n *Node) start(ctx context.Context, c *Cluster) error {
	if err := n.startContainerd(); err != nil {
		return err
	}
	if err := n.ImportImage(ctx, filepath.Join(n.AssetsDir, "pause.tar")); err != nil {
		return err
	}
	if err := n.makeCgroupRoot(); err != nil {
		return err
	}
	kubeconfig, err := n.relayAPIServer(c)
	if err != nil {
		return err
	}
	if err := n.startDaemon("kube-scheduler", false, filepath.Join(n.AssetsDir, "kube-scheduler"),
		"--kubeconfig", c.Kubeconfig, "--leader-elect=false", "--secure-port", "0",
		"--kube-api-qps", "100", "--kube-api-burst", "200"); err != nil {
		return err
	}
	config, err := n.writeKubeletConfig(filepath.Join(c.env.ControlPlane.GetAPIServer().CertDir, "ca.crt"))
	if err != nil {
		return err
	}
	if err := n.startDaemon("kubelet", true, filepath.Join(n.AssetsDir, "kubelet"),
		"--config", config,
		"--kubeconfig", kubeconfig,
		"--root-dir", filepath.Join(n.dir, "kubelet"),
		"--cert-dir", filepath.Join(n.dir, "kubelet", "pki"),
		"--hostname-override", n.Name,
		"--node-ip", n.IP.String(),
	); err != nil {
		return err
	}
	if err := n.startDaemon("kube-proxy", true, filepath.Join(n.AssetsDir, "kube-proxy"),
		"--kubeconfig", kubeconfig,
		"--hostname-override", n.Name,
		"--proxy-mode", "iptables",
		"--cluster-cidr", n.PodCIDR,
		// The netfilter conntrack table is the machine's: leave its size
		// and timeouts alone.
		"--conntrack-max-per-core", "0",
		"--conntrack-tcp-timeout-established", "0",
		"--conntrack-tcp-timeout-close-wait", "0",
		"--healthz-bind-address", "127.0.0.1:10256",
		"--metrics-bind-address", "127.0.0.1:10249",
	); err != nil {
		return err
	}
	return n.waitReady(ctx, c)
}

func (n *Node) startContainerd() error {
	root := filepath.Join(n.dir, "containerd")
	confDir := filepath.Join(n.dir, "cni")
	for _, d := range []string{root, confDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("testcluster: %w", err)
		}
	}
	conflist := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "keyward-node",
  "plugins": [
    {"type": "bridge", "bridge": "kwbr0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, n.PodCIDR, filepath.Join(n.dir, "cni-ipam"))
	if err := os.WriteFile(filepath.Join(confDir, "10-keyward-node.conflist"), []byte(conflist), 0o644); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	config := fmt.Sprintf(`version = 3
root = %[1]q
state = "/run/containerd"

[grpc]
  address = %[2]q

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %[3]q

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  disable_hugetlb_controller = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = %[4]q
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "/usr/sbin/runc"
      SystemdCgroup = false
`, filepath.Join(root, "root"), n.socket, PauseImage, confDir)
	path := filepath.Join(root, "config.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	if err := n.startDaemon("containerd", true, filepath.Join(n.AssetsDir, "containerd"), "--config", path); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if err := n.ctr(context.Background(), "version"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("testcluster: containerd did not answer: %v; log:\n%s", err, n.DaemonLog("containerd", 30))
		}
	}
}

// PauseImage is the sandbox image hack/nodetools builds and the node pins.
const PauseImage = "localhost/keyward/pause:3.10"

// ImportImage loads an image into the node's containerd, from a tarball of
// an OCI image layout (as `tar -C bin/oci -cf - .` makes of `make image`'s
// output) or a folder holding such a layout. Pods use it with
// imagePullPolicy IfNotPresent or Never; no registry is reachable.
func (n *Node) ImportImage(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("testcluster: image %s: %w", path, err)
	}
	if st.IsDir() {
		tarball := filepath.Join(n.dir, fmt.Sprintf("import-%d.tar", time.Now().UnixNano()))
		if out, err := exec.Command("tar", "-C", path, "-cf", tarball, ".").CombinedOutput(); err != nil {
			return fmt.Errorf("testcluster: packing %s: %v: %s", path, err, out)
		}
		defer os.Remove(tarball)
		path = tarball
	}
	if err := n.ctr(ctx, "-n", "k8s.io", "images", "import", path); err != nil {
		return fmt.Errorf("testcluster: importing %s into the node: %w", path, err)
	}
	return nil
}

func (n *Node) ctr(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(n.AssetsDir, "ctr"), append([]string{"--address", n.socket}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cgroupHierarchies are the cgroup v1 controllers the kubelet and runc use.
var cgroupHierarchies = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd"}

// cgroupMounts are where the node's cgroups are removed from: runc also
// makes them in the hybrid layout's empty cgroup v2 hierarchy.
var cgroupMounts = append(slices.Clone(cgroupHierarchies), "unified")

func (n *Node) makeCgroupRoot() error {
	for _, h := range cgroupHierarchies {
		d := filepath.Join("/sys/fs/cgroup", h, n.cgroupRoot)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("testcluster: making the node's cgroup %s: %w", d, err)
		}
		if h == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(filepath.Dir(d), f))
				if err != nil {
					return fmt.Errorf("testcluster: %w", err)
				}
				if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
					return fmt.Errorf("testcluster: %s: %w", f, err)
				}
			}
		}
	}
	return nil
}

func (n *Node) writeKubeletConfig(clientCA string) (string, error) {
	for _, d := range []string{"kubelet", "pod-logs", "volume-plugins"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
			return "", fmt.Errorf("testcluster: %w", err)
		}
	}
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://%s
address: %s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization:
  mode: Webhook
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %s
enforceNodeAllocatable: []
failSwapOn: false
localStorageCapacityIsolation: false
evictionHard:
  memory.available: "0%%"
  nodefs.available: "0%%"
  nodefs.inodesFree: "0%%"
  imagefs.available: "0%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: %s
volumePluginDir: %s
clusterDomain: cluster.local
serializeImagePulls: false
maxPods: 60
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
`, n.socket, n.IP, clientCA, n.cgroupRoot, filepath.Join(n.dir, "pod-logs"), filepath.Join(n.dir, "volume-plugins"))
	path := filepath.Join(n.dir, "kubelet-config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return "", fmt.Errorf("testcluster: %w", err)
	}
	return path, nil
}

// startDaemon starts a node process, inside the node's namespaces when
// inNode, logging to its own file.
func (n *Node) startDaemon(name string, inNode bool, binary string, args ...string) error {
	logPath := filepath.Join(n.dir, name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	defer log.Close()
	var cmd *exec.Cmd
	if inNode {
		pid := strconv.Itoa(n.holder.Process.Pid)
		cmd = exec.Command("nsenter", append([]string{"--target", pid, "--net", "--mount", "--", binary}, args...)...)
	} else {
		cmd = exec.Command(binary, args...)
	}
	cmd.Env = append(os.Environ(), "PATH="+n.AssetsDir+":/usr/sbin:/usr/bin:/sbin:/bin")
	cmd.Stdout, cmd.Stderr = log, log
	exited, err := proc.Start(cmd)
	if err != nil {
		return fmt.Errorf("testcluster: starting %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, exited: exited, log: logPath}
	n.daemons = append(n.daemons, d)
	select {
	case err := <-exited:
		return fmt.Errorf("testcluster: %s exited at start (%v); log:\n%s", name, err, proc.TailFile(logPath, 30))
	case <-time.After(300 * time.Millisecond):
	}
	return nil
}

// DaemonLog returns the last lines a node process (containerd, kubelet,
// kube-proxy, kube-scheduler) wrote, for failure messages.
func (n *Node) DaemonLog(name string, lines int) string {
	return proc.TailFile(filepath.Join(n.dir, name+".log"), lines)
}

func (n *Node) waitReady(ctx context.Context, c *Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		node, err := c.Clientset.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err == nil && nodeReady(node) && !hasTaint(node, "node.kubernetes.io/not-ready") {
			return nil
		}
		for _, d := range n.daemons {
			select {
			case err := <-d.exited:
				return fmt.Errorf("testcluster: %s exited (%v); log:\n%s", d.name, err, proc.TailFile(d.log, 40))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testcluster: node %s not Ready: %v; kubelet log:\n%s", n.Name, err, n.DaemonLog("kubelet", 40))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaint(node *corev1.Node, key string) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// stop ends the node: its daemons, then every container (found through the
// node's cgroups) and every process left in its mount namespace (the runc
// shims), then removes its cgroups and its network namespace.
func (n *Node) stop() error {
	var errs []error
	for i := len(n.daemons) - 1; i >= 0; i-- {
		d := n.daemons[i]
		if d.cmd.Process != nil {
			proc.Stop(d.cmd.Process, d.exited, 5*time.Second)
		}
	}
	n.daemons = nil
	if n.relay != nil {
		n.relay.Close()
	}
	if n.cgroupRoot != "" {
		killCgroupTree(filepath.Join("/sys/fs/cgroup/pids", n.cgroupRoot))
	}
	if n.holder != nil && n.holder.Process != nil {
		killMountNamespace(n.holder.Process.Pid)
		proc.Stop(n.holder.Process, n.holderErr, time.Second)
	}
	if n.cgroupRoot != "" {
		for _, h := range cgroupMounts {
			if err := removeCgroupTree(filepath.Join("/sys/fs/cgroup", h, n.cgroupRoot)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if n.host != nil {
		if err := n.host.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killCgroupTree kills every process in a cgroup and those below it.
func killCgroupTree(root string) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		return nil
	})
}

// killMountNamespace kills every process, but the holder, that shares the
// holder's mount namespace: containerd's shims outlive containerd.
func killMountNamespace(holder int) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", holder))
	if err != nil {
		return
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == holder {
			continue
		}
		if other, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && other == ns {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeCgroupTree removes a cgroup and those below it, deepest first,
// retrying while the killed processes leave.
func removeCgroupTree(root string) error {
	var dirs []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	slices.Reverse(dirs)
	for _, d := range dirs {
		var err error
		for range 50 {
			if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
				err = nil
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("testcluster: removing cgroup %s: %w", d, err)
		}
	}
	return nil
}

// sweepStaleNodes ends what nodes of test processes that died without
// stopping them (a test binary killed at its timeout) left running: their
// containers, found through the cgroup roots named after the owner, and
// their runc shims, which outlive containerd.
func sweepStaleNodes() {
	alive := func(pid int) bool {
		err := syscall.Kill(pid, 0)
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	owner := regexp.MustCompile(`/node-(\d+)/containerd/`)
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if !bytes.Contains(cmdline, []byte("containerd-shim-runc-v2")) {
				continue
			}
			if m := owner.FindSubmatch(cmdline); m != nil {
				if o, _ := strconv.Atoi(string(m[1])); o > 0 && !alive(o) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	roots, _ := filepath.Glob("/sys/fs/cgroup/pids/keyward-node-*")
	for _, root := range roots {
		var o, i int
		if _, err := fmt.Sscanf(filepath.Base(root), "keyward-node-%d-%d", &o, &i); err != nil || alive(o) {
			continue
		}
		killCgroupTree(root)
		for _, h := range cgroupMounts {
			removeCgroupTree(filepath.Join("/sys/fs/cgroup", h, filepath.Base(root)))
		}
	}
}

// NodeAssetsDir returns the folder holding the node binaries, built by
// hack/nodetools/build.sh when missing.
func NodeAssetsDir() (string, error) { return runBuilder("nodetools", nodeBinaries) }

// BuildImage builds Keyward's container image as `make image` does (a
// static binary in the image hack/release/cmd/image writes), tagged ref,
// into an OCI layout under dir; it returns the layout's folder.
func BuildImage(dir, ref string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "linux", "keyward")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/keyward")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testcluster: building the static binary: %v\n%s", err, out)
	}
	layout := filepath.Join(dir, "oci")
	img := exec.Command("go", "run", "./cmd/image", "-binary", bin, "-out", layout, "-ref", ref)
	img.Dir = filepath.Join(root, "hack", "release")
	if out, err := img.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testcluster: writing the image: %v\n%s", err, out)
	}
	return layout, nil
}
