package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/peers"
	"github.com/keyward/keyward/test/proc"
)

const (
	ns       = "kube-system"
	selector = "app.kubernetes.io/name=keyward,app.kubernetes.io/component=controller"
)

// TestManifestInstall applies deploy/keyward.yaml unchanged, as the README
// tells users to, and uses the controller it brings up as Pods.
func TestManifestInstall(t *testing.T) {
	loadImage(t)
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pods := install(t, filepath.Join(root, "deploy", "keyward.yaml"))

	t.Run("runs as the shipped ServiceAccount, non-root, read-only", func(t *testing.T) {
		pod := pods[0]
		if pod.Spec.ServiceAccountName != "keyward" {
			t.Errorf("Pod runs as ServiceAccount %q, want keyward", pod.Spec.ServiceAccountName)
		}
		checkProcess(t, pod)
		// The in-cluster config points at the kubernetes Service's
		// ClusterIP, which only kube-proxy's rules on the node lead to the
		// API server.
		svc, err := cluster.Clientset.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", containerPID(t, containerID(t, pod))))
		if err != nil {
			t.Fatal(err)
		}
		if want := "KUBERNETES_SERVICE_HOST=" + svc.Spec.ClusterIP; !slices.Contains(strings.Split(string(environ), "\x00"), want) {
			t.Errorf("the controller's environment lacks %s", want)
		}
		// The in-cluster config works: the Pod holds the leader Lease it
		// could only take through the API server with its token.
		waitLeader(t, map[string]bool{pod.Name: true}, time.Minute)
		logs := mustKubectl(t, "", "-n", ns, "logs", pod.Name)
		if !strings.Contains(logs, "leader") {
			t.Errorf("controller log names no leader election:\n%s", proc.Tail(logs, 20))
		}
	})

	t.Run("kubeseal --fetch-cert through the service proxy, the guide's SealedSecret", func(t *testing.T) {
		cert := fetchCert(t)
		guideSealedSecret(t, cert, "aura-staging", "postgresql://app:node-staging@db/app")
	})

	t.Run("an ExternalSecret syncs from the Kubernetes provider", func(t *testing.T) {
		externalSecret(t, "aura-production")
	})

	t.Run("two replicas elect one leader; a deleted leader hands over within the Lease", func(t *testing.T) {
		mustKubectl(t, "", "-n", ns, "scale", "deployment/keyward", "--replicas=2")
		waitRollout(t)
		pods := readyPods(t, 2)
		names := map[string]bool{pods[0].Name: true, pods[1].Name: true}
		lease := waitLeader(t, names, time.Minute)
		// What was synced before the hand-over stays as it was.
		defer waitSecret(t, "aura-staging", "backend-secrets", "postgres-db-uri", "postgresql://app:node-staging@db/app")
		leader := holderPod(lease)
		// Exactly one holder, and it stays one: the other replica does not
		// take over while the leader lives.
		time.Sleep(3 * time.Second)
		if again := waitLeader(t, names, time.Second); holderPod(again) != leader {
			t.Fatalf("leadership moved from %s to %s with both replicas running", leader, holderPod(again))
		}
		duration := time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
		deleted := time.Now()
		mustKubectl(t, "", "-n", ns, "delete", "pod", leader, "--wait=false")
		// Work that arrives during the hand-over is not lost.
		cert := fetchCert(t)
		sealed := seal(t, cert, "aura-handover", "handover", "token", "handed-over-value")
		mustKubectl(t, "", "create", "namespace", "aura-handover")
		mustKubectl(t, sealed, "apply", "-f", "-")
		// The new leader is the other replica or the Pod that replaces
		// the deleted one, whichever takes the released Lease first.
		var next string
		eventually(t, duration, "a new leader", func() error {
			l, err := cluster.Clientset.CoordinationV1().Leases(ns).Get(context.Background(), "keyward-controller", metav1.GetOptions{})
			if err != nil {
				return err
			}
			next = holderPod(l)
			if next == "" || next == leader {
				return fmt.Errorf("Lease held by %q", next)
			}
			pod, err := cluster.Clientset.CoreV1().Pods(ns).Get(context.Background(), next, metav1.GetOptions{})
			if err != nil || pod.DeletionTimestamp != nil {
				return fmt.Errorf("Lease held by %q, which is not a running Pod (%v)", next, err)
			}
			return nil
		})
		t.Logf("leader %s deleted; %s leads after %s (Lease duration %s)", leader, next, time.Since(deleted).Round(time.Millisecond), duration)
		waitSecret(t, "aura-handover", "handover", "token", "handed-over-value")
		waitRollout(t)
	})

	t.Run("rollout restart keeps the HTTP API answering", func(t *testing.T) {
		rolloutKeepsAnswering(t)
	})
}

// install applies a manifest as the README says, uninstalls it when the
// test ends, and returns the Ready controller Pod it brings up.
func install(t *testing.T, manifest string) []corev1.Pod {
	t.Helper()
	start := time.Now()
	mustKubectl(t, "", "apply", "--server-side", "-f", manifest)
	t.Cleanup(func() { uninstall(t, manifest) })
	waitRollout(t)
	pods := readyPods(t, 1)
	t.Logf("%s applied to a Ready controller Pod in %s; %s", filepath.Base(manifest), time.Since(start).Round(time.Millisecond), startFigures(pods[0]))
	return pods
}

// uninstall deletes what an install made but its CRDs, so the next test
// installs anew (with RBAC of its own) on the CRDs every install shares.
// Deleting a CRD waits for the API server to remove its objects; under
// load that outlasted any sensible timeout, and proves nothing here.
func uninstall(t *testing.T, manifest string) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, doc := range strings.Split(string(data), "\n---") {
		var obj struct{ Kind string }
		if yaml.Unmarshal([]byte(doc), &obj) == nil && obj.Kind != "" && obj.Kind != "CustomResourceDefinition" {
			keep = append(keep, doc)
		}
	}
	if _, err := kubectl(t, strings.Join(keep, "\n---\n"), "delete", "--ignore-not-found", "--wait=true", "--timeout=3m", "-f", "-"); err != nil {
		t.Errorf("uninstall: %v", err)
	}
	eventually(t, 2*time.Minute, "controller Pods gone", func() error {
		pods, err := cluster.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if len(pods.Items) > 0 {
			return fmt.Errorf("%d Pods left", len(pods.Items))
		}
		return nil
	})
	cluster.Clientset.CoordinationV1().Leases(ns).Delete(context.Background(), "keyward-controller", metav1.DeleteOptions{})
}

func waitRollout(t *testing.T) {
	t.Helper()
	if out, err := kubectl(t, "", "-n", ns, "rollout", "status", "deployment/keyward", "--timeout=4m"); err != nil {
		t.Fatalf("%v\n%s\nPods:\n%s\nkubelet:\n%s", err, out, describePods(t), cluster.Node.DaemonLog("kubelet", 30))
	}
}

func describePods(t *testing.T) string {
	out, _ := kubectl(t, "", "-n", ns, "describe", "pods", "-l", selector)
	return proc.Tail(out, 60)
}

// readyPods returns the controller Pods, failing unless there are want of
// them, all Ready.
func readyPods(t *testing.T, want int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, 2*time.Minute, fmt.Sprintf("%d Ready controller Pods", want), func() error {
		list, err := cluster.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				pods = append(pods, p)
			}
		}
		if len(pods) != want || len(list.Items) != want {
			return fmt.Errorf("%d of %d Pods Ready", len(pods), len(list.Items))
		}
		return nil
	})
	return pods
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// startFigures says how long the Pod took from creation to its container
// running and to Ready.
func startFigures(p corev1.Pod) string {
	created := p.CreationTimestamp.Time
	var started, ready time.Time
	if s := p.Status.ContainerStatuses; len(s) > 0 && s[0].State.Running != nil {
		started = s[0].State.Running.StartedAt.Time
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			ready = c.LastTransitionTime.Time
		}
	}
	return fmt.Sprintf("Pod %s: container started %s and Ready %s after the Pod was created (timestamps in seconds)",
		p.Name, started.Sub(created), ready.Sub(created))
}

// checkProcess finds the Pod's controller process on this machine and
// reads what the kernel says of it: its user, and its root filesystem.
func checkProcess(t *testing.T, pod corev1.Pod) {
	t.Helper()
	pid := containerPID(t, containerID(t, pod))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The Pod's securityContext, as the kernel applies it: user and group
	// 65532, no capabilities, no privilege escalation, a seccomp filter.
	want := map[string]string{
		"Uid:": "65532", "Gid:": "65532", "CapEff:": "0000000000000000", "CapPrm:": "0000000000000000",
		"NoNewPrivs:": "1", "Seccomp:": "2",
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || want[f[0]] == "" {
			continue
		}
		for _, v := range f[1:] {
			if v != want[f[0]] {
				t.Errorf("controller process %s %v, want %s", f[0], f[1:], want[f[0]])
				break
			}
		}
		delete(want, f[0])
	}
	if len(want) > 0 {
		t.Errorf("/proc/%d/status lacks %v", pid, want)
	}
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == "/" {
			found = true
			if !strings.HasPrefix(f[5], "ro") {
				t.Errorf("the container's root filesystem is mounted %s, want ro", f[5])
			}
		}
	}
	if !found {
		t.Error("no root mount in the controller process's mountinfo")
	}
	// And the kernel refuses a write there, even root's, while the
	// emptyDir at /tmp takes one.
	err = os.WriteFile(fmt.Sprintf("/proc/%d/root/written-by-test", pid), []byte("x"), 0o600)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing to the container's root filesystem: %v, want EROFS", err)
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/root/tmp/written-by-test", pid), []byte("x"), 0o600); err != nil {
		t.Errorf("writing to the container's /tmp (an emptyDir): %v", err)
	}
}

func containerID(t *testing.T, pod corev1.Pod) string {
	t.Helper()
	if len(pod.Status.ContainerStatuses) == 0 {
		t.Fatal("Pod has no container status")
	}
	_, id, _ := strings.Cut(pod.Status.ContainerStatuses[0].ContainerID, "://")
	if id == "" {
		t.Fatalf("Pod has no container ID: %+v", pod.Status.ContainerStatuses[0])
	}
	return id
}

// containerPID finds the process whose cgroup is the container's.
func containerPID(t *testing.T, id string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil || !strings.Contains(string(cg), id) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(cmdline), "/keyward\x00controller") {
			return pid
		}
	}
	t.Fatalf("no /keyward controller process in container %s", id)
	return 0
}

// waitLeader waits until the leader Lease is held by one of pods.
func waitLeader(t *testing.T, pods map[string]bool, timeout time.Duration) *coordinationv1.Lease {
	t.Helper()
	var lease *coordinationv1.Lease
	eventually(t, timeout, "a leader among the controller Pods", func() error {
		l, err := cluster.Clientset.CoordinationV1().Leases(ns).Get(context.Background(), "keyward-controller", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !pods[holderPod(l)] {
			return fmt.Errorf("Lease held by %q", holderPod(l))
		}
		lease = l
		return nil
	})
	return lease
}

// holderPod is the Pod a Lease's holder identity (hostname_uuid) names.
func holderPod(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	name, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
	return name
}

// fetchCert runs Bitnami's kubeseal --fetch-cert, which reaches the
// controller through the API server's service proxy and the
// sealed-secrets-controller Service, and returns the certificate's path.
func fetchCert(t *testing.T) string {
	t.Helper()
	kubeseal := peers.Get(t).Kubeseal
	path := filepath.Join(t.TempDir(), "sealed-secrets-public-key.pem")
	var out []byte
	eventually(t, time.Minute, "kubeseal --fetch-cert", func() error {
		var err error
		out, err = exec.Command(kubeseal, "--kubeconfig", cluster.Kubeconfig, "--fetch-cert").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	if !strings.HasPrefix(string(out), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("kubeseal --fetch-cert printed no certificate: %.200s", out)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// seal makes a SealedSecret the guide's way: kubectl create secret
// --dry-run piped into kubeseal --cert.
func seal(t *testing.T, cert, namespace, name, key, value string) string {
	t.Helper()
	plain := mustKubectl(t, "", "create", "secret", "generic", name, "-n", namespace,
		"--from-literal="+key+"="+value, "--dry-run=client", "-o", "yaml")
	cmd := exec.Command(peers.Get(t).Kubeseal, "--cert", cert, "-o", "yaml")
	cmd.Stdin = strings.NewReader(plain)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubeseal --cert: %v", err)
	}
	return string(out)
}

func guideSealedSecret(t *testing.T, cert, namespace, value string) {
	t.Helper()
	mustKubectl(t, "", "create", "namespace", namespace)
	mustKubectl(t, seal(t, cert, namespace, "backend-secrets", "postgres-db-uri", value), "apply", "-f", "-")
	waitSecret(t, namespace, "backend-secrets", "postgres-db-uri", value)
}

func waitSecret(t *testing.T, namespace, name, key, value string) {
	t.Helper()
	eventually(t, 2*time.Minute, "Secret "+namespace+"/"+name, func() error {
		s, err := cluster.Clientset.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if string(s.Data[key]) != value {
			return fmt.Errorf("key %s holds %d bytes, not the value", key, len(s.Data[key]))
		}
		return nil
	})
}

// externalSecret syncs the guide's backend-secrets from another Secret of
// the namespace through the Kubernetes provider, which the controller
// reaches with a ServiceAccount token of the namespace's own.
func externalSecret(t *testing.T, namespace string) {
	t.Helper()
	value := "postgresql://app:node-production@db/app"
	mustKubectl(t, "", "create", "namespace", namespace)
	mustKubectl(t, "", "-n", namespace, "create", "secret", "generic", "aura-production-postgres",
		"--from-literal=db-uri="+value)
	mustKubectl(t, "", "-n", namespace, "create", "serviceaccount", "store-reader")
	mustKubectl(t, "", "-n", namespace, "create", "role", "store-reader", "--verb=get,list,watch", "--resource=secrets",
		"--resource-name=aura-production-postgres")
	mustKubectl(t, "", "-n", namespace, "create", "rolebinding", "store-reader", "--role=store-reader",
		"--serviceaccount="+namespace+":store-reader")
	mustKubectl(t, fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: cluster-secrets, namespace: %[1]s}
spec:
  provider:
    kubernetes:
      remoteNamespace: %[1]s
      auth: {serviceAccount: {name: store-reader}}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: backend-secrets, namespace: %[1]s}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: cluster-secrets, kind: SecretStore}
  target: {name: backend-secrets}
  data:
  - secretKey: postgres-db-uri
    remoteRef: {key: aura-production-postgres, property: db-uri}
`, namespace), "apply", "-f", "-")
	eventually(t, 2*time.Minute, "ExternalSecret Ready", func() error {
		out, err := kubectl(t, "", "-n", namespace, "get", "externalsecret", "backend-secrets",
			"-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status} {.status.conditions[?(@.type=='Ready')].message}")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(out, "True") {
			return fmt.Errorf("Ready: %s", out)
		}
		return nil
	})
	waitSecret(t, namespace, "backend-secrets", "postgres-db-uri", value)
}

// rolloutKeepsAnswering restarts the Deployment while a client fetches the
// certificate through the service proxy, and fails on any failed request.
func rolloutKeepsAnswering(t *testing.T) {
	t.Helper()
	proxy := cluster.Clientset.CoreV1().Services(ns).ProxyGet("http", "sealed-secrets-controller", "http", "/v1/cert.pem", nil)
	if _, err := proxy.DoRaw(context.Background()); err != nil {
		t.Fatalf("the HTTP API does not answer before the restart: %v", err)
	}
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Four clients, each asking every 25 ms: a Pod that stops serving
	// before its endpoint is gone would be hit.
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(25 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				body, err := cluster.Clientset.CoreV1().Services(ns).ProxyGet("http", "sealed-secrets-controller", "http", "/v1/cert.pem", nil).DoRaw(ctx)
				cancel()
				if err == nil && strings.HasPrefix(string(body), "-----BEGIN CERTIFICATE-----") {
					ok.Add(1)
					continue
				}
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("%v (%d bytes)", err, len(body)))
			}
		}()
	}
	start := time.Now()
	mustKubectl(t, "", "-n", ns, "rollout", "restart", "deployment/keyward")
	// Wait for the restart's ReplicaSet to replace every Pod.
	time.Sleep(time.Second)
	waitRollout(t)
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("rollout restart took %s; %d requests answered, %d failed", took.Round(time.Millisecond), ok.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests to the HTTP API failed during the rollout; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests answered during the rollout", ok.Load())
	}
}

// TestHelmChart renders charts/keyward with its default values, as `helm
// template` does, applies it, and uses the controller it brings up.
func TestHelmChart(t *testing.T) {
	loadImage(t)
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	render := exec.Command("go", "run", "./cmd/template", "-chart", filepath.Join(root, "charts", "keyward"),
		"-release", "keyward", "-namespace", ns)
	render.Dir = filepath.Join(root, "hack", "release")
	manifest, err := render.Output()
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	path := filepath.Join(t.TempDir(), "chart.yaml")
	if err := os.WriteFile(path, manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	pods := install(t, path)
	if pods[0].Spec.ServiceAccountName != "keyward" {
		t.Errorf("Pod runs as ServiceAccount %q, want keyward", pods[0].Spec.ServiceAccountName)
	}
	checkProcess(t, pods[0])
	waitLeader(t, map[string]bool{pods[0].Name: true}, time.Minute)
	cert := fetchCert(t)
	guideSealedSecret(t, cert, "chart-staging", "postgresql://app:chart-staging@db/app")
	externalSecret(t, "chart-production")
}
