// Package testcluster starts a real Kubernetes control plane for tests: etcd and
// kube-apiserver (through controller-runtime's envtest, RBAC authorization on)
// plus a kube-controller-manager running only the garbage-collector and
// namespace controllers, so owner references and namespace deletion behave as
// on a real cluster. Start one cluster per test package, from TestMain.
//
// The binaries come from KUBEBUILDER_ASSETS, or else are built by
// hack/kubetools/build.sh into its version-keyed cache. A missing binary is a
// hard failure: tests against the cluster never skip silently.
package testcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/keyward/keyward/test/proc"
)

// Binaries the cluster needs in its assets folder.
var requiredBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// Options tune a cluster. The zero value is a full cluster with our CRDs.
type Options struct {
	// CRDDirs are folders of CRD manifests to install. Empty means the
	// repository's deploy/crds, when it exists.
	CRDDirs []string
	// CRDFiles, when set, installs only these files of deploy/crds (by
	// name, as bitnami.com_sealedsecrets.yaml) instead of CRDDirs: a
	// cluster with only some of the kinds, as another tool's install has.
	CRDFiles []string
	// Scheme is used for the typed clients; client-go's scheme when nil.
	Scheme *runtime.Scheme
	// NoControllerManager leaves kube-controller-manager out (faster start,
	// but no garbage collection and no namespace deletion).
	NoControllerManager bool
	// BeforeStop, when set, runs in Main after the tests and before the
	// cluster stops: the place to stop controllers that live for the whole
	// package. The API server waits up to its request timeout for clients
	// still busy when it is told to stop.
	BeforeStop func()
	// APIServerArgs are added to kube-apiserver's flags, by name without
	// dashes (for example "audit-log-path" or "encryption-provider-config").
	APIServerArgs map[string][]string
	// Node starts a node that runs Pods (see Node), with kube-scheduler and
	// every kube-controller-manager controller. It needs root, and the node
	// binaries hack/nodetools/build.sh builds. Only tests that need Pods
	// should ask: the cluster takes longer to start.
	Node bool
}

// Cluster is a running control plane.
type Cluster struct {
	// Config is an admin (system:masters) connection.
	Config *rest.Config
	// Client is a controller-runtime client acting as admin.
	Client client.Client
	// Clientset is a client-go clientset acting as admin.
	Clientset kubernetes.Interface
	// Kubeconfig is the path of an admin kubeconfig file, for kubectl and
	// for processes the tests start.
	Kubeconfig string
	// AssetsDir holds the binaries (etcd, kube-apiserver, kubectl, ...).
	AssetsDir string
	// EtcdURL is where etcd serves its clients (plain HTTP on loopback).
	EtcdURL string
	// Node is the node that runs Pods, with Options.Node; nil otherwise.
	Node *Node

	scheme *runtime.Scheme
	env    *envtest.Environment
	dir    string
	kcm    *exec.Cmd
	kcmLog *os.File
	kcmErr <-chan error
}

// Start builds the binaries if they are missing, starts the control plane and
// returns once the API server answers and the CRDs are established.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	crdDirs := opts.CRDDirs
	if len(opts.CRDFiles) > 0 {
		crdDirs = crdFiles(root, opts.CRDFiles)
	} else if len(crdDirs) == 0 {
		if d := filepath.Join(root, "deploy", "crds"); isDir(d) {
			crdDirs = []string{d}
		}
	}
	scheme := opts.Scheme
	if scheme == nil {
		scheme = clientgoscheme.Scheme
	}
	dir, err := os.MkdirTemp("", "keyward-testcluster-")
	if err != nil {
		return nil, fmt.Errorf("testcluster: %w", err)
	}

	c := &Cluster{AssetsDir: assets, scheme: scheme, dir: dir}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: len(crdDirs) > 0,
		Scheme:                scheme,
		// A loaded two-core machine can take longer than envtest's 20 s
		// defaults to start or stop a control plane.
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	api := c.env.ControlPlane.GetAPIServer()
	// A folder of our own (not envtest's throwaway one) keeps the serving
	// certificate and the service-account key across RestartAPIServer, so
	// clients and tokens from before a restart still work after it.
	api.CertDir = filepath.Join(dir, "apiserver")
	if err := os.MkdirAll(api.CertDir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testcluster: %w", err)
	}
	if opts.Node {
		if c.Node, err = prepareNode(dir); err == nil {
			err = c.Node.configureAPIServer(c)
		}
		if err != nil {
			c.env = nil // not started: nothing of it to stop
			c.Stop()
			return nil, err
		}
	}
	for name, values := range opts.APIServerArgs {
		for _, v := range values {
			api.Configure().Append(name, v)
		}
	}
	cfg, err := c.env.Start()
	if err != nil {
		c.env = nil
		c.Stop()
		return nil, fmt.Errorf("testcluster: starting etcd and kube-apiserver from %s: %w", assets, err)
	}
	if c.env.ControlPlane.Etcd != nil && c.env.ControlPlane.Etcd.URL != nil {
		c.EtcdURL = c.env.ControlPlane.Etcd.URL.String()
	}
	if err := c.finishStart(ctx, cfg, opts); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) finishStart(ctx context.Context, cfg *rest.Config, opts Options) error {
	if err := c.connect(cfg); err != nil {
		return err
	}
	if !opts.NoControllerManager || c.Node != nil {
		if err := c.startControllerManager(); err != nil {
			return err
		}
	}
	if c.Node != nil {
		return c.Node.start(ctx, c)
	}
	return nil
}

// connect makes the admin user, its kubeconfig and the clients.
func (c *Cluster) connect(cfg *rest.Config) error {
	// A named admin user gives a kubeconfig that other processes (the
	// controller manager, kubectl, keyward itself) can use.
	admin, err := c.env.AddUser(envtest.User{Name: "keyward-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return fmt.Errorf("testcluster: adding admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("testcluster: admin kubeconfig: %w", err)
	}
	c.Kubeconfig = filepath.Join(c.dir, "admin.kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	c.Config = admin.Config()
	// client-go's default of 5 requests a second, shared by every test in
	// the package through this one config, would make tests wait on each
	// other rather than on the cluster.
	c.Config.QPS, c.Config.Burst = 500, 1000
	if c.Client, err = client.New(c.Config, client.Options{Scheme: c.scheme}); err != nil {
		return fmt.Errorf("testcluster: admin client: %w", err)
	}
	if c.Clientset, err = kubernetes.NewForConfig(c.Config); err != nil {
		return fmt.Errorf("testcluster: admin clientset: %w", err)
	}
	return nil
}

// RestartAPIServer restarts kube-apiserver on the same etcd and port with
// args set (replacing earlier values of those flags), as an operator does
// to turn on encryption at rest. It keeps its serving certificate, client
// CA and service-account key, so clients and tokens from before still
// work; Config, Client and Clientset are rebuilt all the same, and a
// running kube-controller-manager is restarted with the new flags' server.
func (c *Cluster) RestartAPIServer(ctx context.Context, args map[string][]string) error {
	api := c.env.ControlPlane.GetAPIServer()
	if err := api.Stop(); err != nil {
		return fmt.Errorf("testcluster: stopping kube-apiserver: %w", err)
	}
	for name, values := range args {
		api.Configure().Set(name, values...)
	}
	if err := api.Start(); err != nil {
		return fmt.Errorf("testcluster: restarting kube-apiserver with %v: %w", args, err)
	}
	c.env.Config.CAData = api.SecureServing.CA
	if err := c.connect(c.env.Config); err != nil {
		return err
	}
	if c.kcm != nil && c.kcm.Process != nil {
		proc.Stop(c.kcm.Process, c.kcmErr, 5*time.Second)
		c.kcmLog.Close()
		return c.startControllerManager()
	}
	return nil
}

func (c *Cluster) startControllerManager() error {
	log, err := os.Create(filepath.Join(c.dir, "kube-controller-manager.log"))
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	c.kcmLog = log
	controllers := []string{"--controllers", "garbagecollector,namespace"}
	if c.Node != nil {
		controllers = c.Node.controllerManagerArgs(c.env.ControlPlane.GetAPIServer().CertDir)
	}
	cmd := exec.Command(filepath.Join(c.AssetsDir, "kube-controller-manager"), append(controllers,
		"--kubeconfig", c.Kubeconfig,
		"--leader-elect=false",
		"--bind-address", "127.0.0.1",
		"--secure-port", "0",
		"--use-service-account-credentials=false",
		// Tests create objects by the thousand; the default 20 requests a
		// second would leave garbage collection and namespace deletion
		// trailing far behind.
		"--kube-api-qps", "200",
		"--kube-api-burst", "400",
		// Sync quickly so tests do not wait on the default periods.
		"--concurrent-gc-syncs", "5",
		"--namespace-sync-period", "10s",
	)...)
	cmd.Stdout = log
	cmd.Stderr = log
	// Die with the test binary, whatever way it ends.
	exited, err := proc.Start(cmd)
	if err != nil {
		return fmt.Errorf("testcluster: starting kube-controller-manager: %w", err)
	}
	c.kcm = cmd
	c.kcmErr = exited
	// It has no health port with --secure-port 0; give it a moment to fail
	// on bad flags before declaring it up.
	select {
	case err := <-c.kcmErr:
		return fmt.Errorf("testcluster: kube-controller-manager exited at start (%v); log:\n%s", err, proc.TailFile(log.Name(), 30))
	case <-time.After(500 * time.Millisecond):
	}
	return nil
}

// Stop ends every process and removes the cluster's files.
func (c *Cluster) Stop() error {
	var errs []error
	if c.Node != nil {
		if err := c.Node.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.kcm != nil && c.kcm.Process != nil {
		proc.Stop(c.kcm.Process, c.kcmErr, 5*time.Second)
	}
	if c.kcmLog != nil {
		c.kcmLog.Close()
	}
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("testcluster: stopping control plane: %w", err))
		}
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
	return errors.Join(errs...)
}

// InstallCRDs installs these files of deploy/crds (by name) and waits
// until the API server serves them.
func (c *Cluster) InstallCRDs(files ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	if _, err := envtest.InstallCRDs(c.Config, envtest.CRDInstallOptions{Paths: crdFiles(root, files), ErrorIfPathMissing: true}); err != nil {
		return fmt.Errorf("testcluster: installing CRDs %v: %w", files, err)
	}
	return nil
}

func crdFiles(root string, names []string) []string {
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(root, "deploy", "crds", n)
	}
	return paths
}

// ServiceAccountConfig returns a connection that acts as the ServiceAccount
// namespace/name, authenticated by a token from the TokenRequest API. The
// ServiceAccount is created when it does not exist.
func (c *Cluster) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := c.Clientset.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("testcluster: creating ServiceAccount %s/%s: %w", namespace, name, err)
	}
	tok, err := c.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}},
		metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("testcluster: TokenRequest for %s/%s: %w", namespace, name, err)
	}
	return &rest.Config{
		Host:            c.Config.Host,
		BearerToken:     tok.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.Config.CAData},
		QPS:             c.Config.QPS,
		Burst:           c.Config.Burst,
	}, nil
}

// ServiceAccountClient is ServiceAccountConfig wrapped in a controller-runtime client.
func (c *Cluster) ServiceAccountClient(ctx context.Context, namespace, name string) (client.Client, error) {
	cfg, err := c.ServiceAccountConfig(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: c.scheme})
}

// ControllerManagerLog returns the last lines kube-controller-manager wrote,
// for failure messages.
func (c *Cluster) ControllerManagerLog(lines int) string {
	if c.kcmLog == nil {
		return ""
	}
	return proc.TailFile(c.kcmLog.Name(), lines)
}

// AssetsDir returns the folder holding the cluster binaries: KUBEBUILDER_ASSETS
// when it has them all, or else the cache that hack/kubetools/build.sh fills
// (building whatever is missing; the script waits for a concurrent build).
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" && hasBinaries(dir, requiredBinaries) {
		return dir, nil
	}
	return runBuilder("kubetools", requiredBinaries)
}

// runBuilder runs hack/NAME/build.sh, which builds what is missing into its
// version-keyed cache (waiting for a concurrent build) and prints the folder,
// and checks the folder holds the binaries.
func runBuilder(name string, binaries []string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "hack", name, "build.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testcluster: building with %s: %w\n%s", script, err, stderr.String())
	}
	dir := strings.TrimSpace(stdout.String())
	if !hasBinaries(dir, binaries) {
		return "", fmt.Errorf("testcluster: %s finished but %s lacks one of %v", script, dir, binaries)
	}
	return dir, nil
}

// RepoRoot finds the checkout's top folder by walking up to keyward's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testcluster: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/keyward/keyward\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testcluster: not inside the keyward checkout (no go.mod for github.com/keyward/keyward above the working directory)")
		}
		dir = parent
	}
}

func hasBinaries(dir string, binaries []string) bool {
	for _, b := range binaries {
		st, err := os.Stat(filepath.Join(dir, b))
		if err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func ptr[T any](v T) *T { return &v }
