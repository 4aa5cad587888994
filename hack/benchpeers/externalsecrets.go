package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/peers"
	"github.com/keyward/keyward/test/proc"
	"github.com/keyward/keyward/test/scale"
	testvault "github.com/keyward/keyward/test/vault"
)

// esReport compares the External Secrets Operator's controller with
// Keyward's on the same ExternalSecrets over the same Vault.
type esReport struct {
	ExternalSecrets int          `json:"external_secrets"`
	VaultKeys       int          `json:"vault_keys"`
	Setup           string       `json:"setup"`
	ESO             esControlRun `json:"eso"`
	Keyward         esControlRun `json:"keyward"`
	// Speedup is ESO's time to all Ready over Keyward's; ReadsRatio is
	// Keyward's Vault reads over ESO's (below 1: Keyward reads less).
	// Requests are counted from the start of the apply: a login made to
	// validate the store before it is not.
	Speedup    float64 `json:"speedup"`
	ReadsRatio float64 `json:"vault_reads_ratio"`
}

// esControlRun is one controller's run: from the start of the apply until
// every ExternalSecret is Ready, and what it cost Vault and the machine.
type esControlRun struct {
	Args            []string `json:"args"`
	SecondsAllReady float64  `json:"seconds_to_all_ready"`
	VaultReads      int      `json:"vault_reads"`
	VaultLogins     int      `json:"vault_logins"`
	VaultOther      int      `json:"vault_other_requests"`
	CPUSeconds      float64  `json:"cpu_seconds"`
	PeakRSSMiB      float64  `json:"peak_rss_mib"`
}

const esVaultPolicy = `path "secret/data/bench/*" { capabilities = ["read"] }`

// benchExternalSecrets runs ESO's controller and then Keyward's, each at
// its defaults, on one test cluster that has ESO's own CRDs and one real
// Vault (AppRole auth, as a production store would use). Each controller
// gets its own namespace, store and controller class, and runs alone.
func benchExternalSecrets(o options, keyward string, bins peers.Binaries, work string) (esReport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	rep := esReport{ExternalSecrets: o.externalSecrets, VaultKeys: o.vaultKeys,
		Setup: "one test cluster with ESO's CRD bundle, one Vault dev server (KV v2, AppRole); ESO runs first, then Keyward, each alone with its own namespace and class (Keyward also sees, and skips, ESO's ExternalSecrets)"}

	progress("externalsecrets: starting a test cluster with ESO's CRDs and a Vault server")
	c, err := testcluster.Start(ctx, testcluster.Options{CRDDirs: []string{bins.ExternalSecretsCRDs}})
	if err != nil {
		return rep, err
	}
	defer c.Stop()
	v, err := testvault.New(ctx, testvault.Options{})
	if err != nil {
		return rep, err
	}
	defer v.Stop()
	if err := setUpVault(ctx, v, o.vaultKeys); err != nil {
		return rep, err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return rep, err
	}
	// The bench's own client must not be what limits the apply.
	cfg := *c.Config
	cfg.QPS, cfg.Burst = 1000, 2000
	cl, err := client.New(&cfg, client.Options{Scheme: scheme})
	if err != nil {
		return rep, err
	}

	metricsAddr, err := proc.PickAddr()
	if err != nil {
		return rep, err
	}
	runs := []struct {
		name string
		out  *esControlRun
		argv func(class string) []string
	}{
		{"ESO", &rep.ESO, func(class string) []string {
			return []string{bins.ExternalSecrets, "--controller-class=" + class, "--metrics-addr=" + metricsAddr}
		}},
		{"Keyward", &rep.Keyward, func(class string) []string {
			return []string{keyward, "controller", "--controller-class", class,
				"--listen-addr", "0", "--health-addr", "0", "--listen-metrics-addr", metricsAddr}
		}},
	}
	for i, r := range runs {
		class := fmt.Sprintf("bench-%d", i)
		res, err := runESBench(ctx, o, r.name, cl, c.Kubeconfig, v, class, r.argv(class), work)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", r.name, err)
		}
		*r.out = res
		progress("externalsecrets: %s: all %d Ready in %.1f s, %d Vault reads, %d logins",
			r.name, o.externalSecrets, res.SecondsAllReady, res.VaultReads, res.VaultLogins)
	}
	rep.Speedup = rep.ESO.SecondsAllReady / rep.Keyward.SecondsAllReady
	if rep.ESO.VaultReads > 0 {
		rep.ReadsRatio = float64(rep.Keyward.VaultReads) / float64(rep.ESO.VaultReads)
	}
	return rep, nil
}

func setUpVault(ctx context.Context, v *testvault.Server, keys int) error {
	if err := v.AppRole(ctx, "bench", esVaultPolicy, "bench-role", "bench-secret-id"); err != nil {
		return err
	}
	for i := range keys {
		path := fmt.Sprintf("secret/data/bench/key-%03d", i)
		body := map[string]any{"data": map[string]any{"value": fmt.Sprintf("v-%03d", i)}}
		if _, err := v.Client.Logical().WriteWithContext(ctx, path, body); err != nil {
			return fmt.Errorf("vault: writing %s: %w", path, err)
		}
	}
	return nil
}

// runESBench makes a namespace with a Vault store for class, starts the
// controller, applies the ExternalSecrets 20 at a time and waits until
// all are Ready.
func runESBench(ctx context.Context, o options, name string, cl client.Client, kubeconfig string, v *testvault.Server, class string, argv []string, work string) (esControlRun, error) {
	res := esControlRun{Args: argv[1:]}
	ns := "bench-" + class
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-approle"}, StringData: map[string]string{"secret-id": "bench-secret-id"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{
			Controller: class,
			Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: v.Addr, Path: ptr("secret"), Version: "v2",
				Auth: &esv1.VaultAuth{AppRole: &esv1.VaultAppRole{Path: "approle", RoleID: "bench-role",
					SecretRef: esv1.SecretKeySelector{Name: "vault-approle", Key: "secret-id"}}}}},
		}},
	}
	for _, obj := range objs {
		if err := cl.Create(ctx, obj); err != nil {
			return res, fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}

	p, err := startControllerProcess(argv, kubeconfig, filepath.Join(work, class+".log"))
	if err != nil {
		return res, err
	}
	defer p.stop()
	// The store is validated before the clock starts, so neither tool is
	// timed on its start-up.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := p.exitedErr(); err != nil {
			return false, err
		}
		var st esv1.SecretStore
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "vault"}, &st); err != nil {
			return false, nil
		}
		for _, c := range st.Status.Conditions {
			if c.Type == esv1.SecretStoreReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return res, fmt.Errorf("store not Ready: %w; log:\n%s", err, p.tail(30))
	}

	mark := v.AuditMark()
	start := time.Now()
	if err := applyExternalSecrets(ctx, cl, ns, o.externalSecrets, o.vaultKeys); err != nil {
		return res, err
	}
	ready := 0
	lastReport := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 40*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := p.exitedErr(); err != nil {
			return false, err
		}
		var list esv1.ExternalSecretList
		if err := cl.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		ready = 0
		for i := range list.Items {
			for _, c := range list.Items[i].Status.Conditions {
				if c.Type == esv1.ExternalSecretReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			progress("externalsecrets: %s: %d of %d Ready after %.0f s", name, ready, o.externalSecrets, time.Since(start).Seconds())
		}
		return ready == o.externalSecrets, nil
	})
	elapsed := time.Since(start)
	if err != nil {
		return res, fmt.Errorf("%d of %d Ready after %s: %w; log:\n%s", ready, o.externalSecrets, elapsed.Round(time.Second), err, p.tail(30))
	}
	res.SecondsAllReady = elapsed.Seconds()
	reqs, err := v.Requests(mark)
	if err != nil {
		return res, err
	}
	for _, r := range reqs {
		switch {
		case r.Operation == "read" && strings.HasPrefix(r.Path, "secret/data/"):
			res.VaultReads++
		case strings.HasPrefix(r.Path, "auth/") && strings.HasSuffix(r.Path, "/login"):
			res.VaultLogins++
		default:
			res.VaultOther++
		}
	}
	cpu, hwm, err := p.usage()
	if err != nil {
		return res, err
	}
	res.CPUSeconds, res.PeakRSSMiB = cpu.Seconds(), mib(hwm)
	return res, nil
}

func applyExternalSecrets(ctx context.Context, cl client.Client, ns string, n, keys int) error {
	objs := make([]client.Object, n)
	for i := range objs {
		objs[i] = &esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("es-%04d", i)},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef:  esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
				RefreshInterval: &metav1.Duration{Duration: time.Hour},
				Data: []esv1.ExternalSecretData{{SecretKey: "value",
					RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: fmt.Sprintf("bench/key-%03d", i%keys), Property: "value"}}},
			},
		}
	}
	return scale.CreateAll(ctx, cl, objs, 20, nil)
}

// controllerProcess is a controller run as its own process, its output
// kept in a file.
type controllerProcess struct {
	cmd     *exec.Cmd
	logPath string
	waited  <-chan error
	exitErr error
	done    bool
}

func startControllerProcess(argv []string, kubeconfig, logPath string) (*controllerProcess, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "POD_NAMESPACE=default")
	cmd.Stdout, cmd.Stderr = logf, logf
	waited, err := proc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	return &controllerProcess{cmd: cmd, logPath: logPath, waited: waited}, nil
}

// exitedErr is an error when the process has ended: a controller that
// stops by itself has failed the run.
func (p *controllerProcess) exitedErr() error {
	if !p.done {
		select {
		case err := <-p.waited:
			p.done, p.exitErr = true, err
		default:
			return nil
		}
	}
	return fmt.Errorf("%s exited (%v); log:\n%s", p.cmd.Path, p.exitErr, p.tail(30))
}

// usage is the process's CPU time so far and its peak resident set
// (VmHWM), both from /proc while it still runs.
func (p *controllerProcess) usage() (time.Duration, int64, error) {
	pid := p.cmd.Process.Pid
	cpu, err := proc.CPU(pid)
	if err != nil {
		return 0, 0, err
	}
	hwm, err := proc.Status(pid, "VmHWM")
	return cpu, hwm, err
}

func (p *controllerProcess) stop() {
	if p.done {
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- <-p.waited }()
	proc.Stop(p.cmd.Process, exited, 30*time.Second)
	p.done = true
}

func (p *controllerProcess) tail(n int) string { return proc.TailFile(p.logPath, n) }

func ptr[T any](v T) *T { return &v }

// esoVersion names the ESO release built by hack/peertools, from the folder
// its version keys (ESO's binary has no version command).
func esoVersion(bins peers.Binaries) string {
	dir := filepath.Base(filepath.Dir(bins.ExternalSecrets))
	if _, v, ok := strings.Cut(dir, "-eso-"); ok {
		return "external-secrets " + v
	}
	return "external-secrets (version unknown)"
}
