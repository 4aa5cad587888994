package migrateseal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controllerclient"
	"github.com/keyward/keyward/internal/migrate/tosealed"
	"github.com/keyward/keyward/internal/sealing"
)

// makeSecrets creates n Secrets named s00.. with planted values and
// returns their names and the values.
func makeSecrets(ctx context.Context, t testing.TB, ns string, n int) ([]string, []string) {
	t.Helper()
	var names, values []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%02d", i)
		v := planted(name)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "api"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"password":"` + v + `"}}`}},
			Data: map[string][]byte{"password": []byte(v), "user": []byte("admin")}}
		if _, err := env.kube.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names, values = append(names, name), append(values, v)
	}
	return names, values
}

// assertAdopted checks each Secret is now controlled by its SealedSecret,
// with the data, the UID and the labels it had.
func assertAdopted(ctx context.Context, t *testing.T, g *guard, names []string) {
	t.Helper()
	for _, n := range names {
		s, err := env.kube.CoreV1().Secrets(g.ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		owned := false
		for _, r := range s.OwnerReferences {
			owned = owned || (r.Kind == "SealedSecret" && r.Name == n && r.Controller != nil && *r.Controller)
		}
		if !owned {
			t.Errorf("Secret %s is not controlled by its SealedSecret: %v", n, s.OwnerReferences)
		}
		if s.UID != g.uids[n] {
			t.Errorf("Secret %s was recreated", n)
		}
		if err := sealing.MatchSecret(s, g.want[n]); err != nil {
			t.Error(err)
		}
		if s.Labels["app"] != "api" {
			t.Errorf("Secret %s lost its labels: %v", n, s.Labels)
		}
	}
}

func TestNamespaceAdoptedInPlace(t *testing.T) {
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	names, values := makeSecrets(ctx, t, ns, 3)
	// A workload using s00, so the plan names it.
	replicas := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "web", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s00"}}}}}},
		}},
	}}
	if _, err := env.kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	work, cfgHome := t.TempDir(), t.TempDir()
	out := filepath.Join(work, "sealed")
	ctl := []string{"--controller-namespace", env.ctlNS}
	var outputs []string

	plan := keyward(ctx, t, work, cfgHome, append([]string{"migrate", "plan", "seal", "-n", ns, "--out", out, "--apply"}, ctl...)...).must(t)
	outputs = append(outputs, plan.stdout, plan.stderr)
	for _, op := range []string{"would adopt", "would apply"} {
		if strings.Count(plan.stdout, op) != len(names) {
			t.Errorf("the plan does not say %q for each Secret:\n%s", op, plan.stdout)
		}
	}
	for _, n := range names {
		if !strings.Contains(plan.stdout, ns+"/"+n) || !strings.Contains(plan.stdout, "would write-sealedsecret") {
			t.Errorf("the plan does not say it would seal %s:\n%s", n, plan.stdout)
		}
	}
	if !strings.Contains(plan.stdout, "used by Deployment/"+ns+"/web") {
		t.Errorf("the plan does not name the workload using s00:\n%s", plan.stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the plan wrote files")
	}
	for _, n := range names {
		s, err := env.kube.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Annotations[ssv1.ManagedAnnotation] != "" {
			t.Errorf("the plan marked Secret %s", n)
		}
	}

	g := watchSecrets(ctx, t, ns, names)
	run := keyward(ctx, t, work, cfgHome, append([]string{"migrate", "seal", "-n", ns, "--out", out, "--apply", "-o", "json"}, ctl...)...).must(t)
	outputs = append(outputs, run.stdout, run.stderr)
	for _, op := range []string{`"op": "write-sealedsecret"`, `"op": "adopt"`, `"op": "apply"`} {
		if strings.Count(run.stdout, op) != len(names) {
			t.Errorf("the report has not %d %s:\n%s", len(names), op, run.stdout)
		}
	}
	g.verify(t)
	assertAdopted(ctx, t, g, names)

	// Run twice, nothing changes: every Secret is managed now.
	again := keyward(ctx, t, work, cfgHome, append([]string{"migrate", "seal", "-n", ns, "--out", out, "--apply"}, ctl...)...).must(t)
	outputs = append(outputs, again.stdout, again.stderr)
	if !strings.Contains(again.stdout, "seal: made 0 change(s)") || strings.Count(again.stdout, "already managed by SealedSecret/") != len(names) {
		t.Errorf("the rerun changed something:\n%s", again.stdout)
	}
	for _, o := range outputs {
		noLeak(t, "the command's output", o, values)
	}
	noLeakInFiles(t, work, values)
	noLeakInLog(t, values)
}

func TestTreeReplacedAfterOnlineVerify(t *testing.T) {
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	pw, tok := planted("pw"), planted("tok")
	values := []string{pw, tok}
	work, cfgHome := t.TempDir(), t.TempDir()
	tree := filepath.Join(work, "tree")
	files := map[string]string{
		"app/db.yaml":          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + pw + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n",
		"k/kustomization.yaml": "namespace: " + ns + "\nsecretGenerator:\n  - name: api\n    files: [token=token.txt]\n",
		"k/token.txt":          tok,
		"other/unrelated.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
	}
	for name, body := range files {
		p := filepath.Join(tree, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctl := []string{"--controller-namespace", env.ctlNS}
	var outputs []string

	// Sealed for a key the controller does not hold: /v1/verify says no,
	// and nothing is removed.
	keygen := keyward(ctx, t, work, cfgHome, "keygen", "--key-size", "2048", "--cert-out", "foreign.pem", "-w", "foreign.yaml").must(t)
	outputs = append(outputs, keygen.stdout)
	bad := keyward(ctx, t, work, cfgHome, append([]string{"migrate", "seal", "--cert", "foreign.pem", "--replace", "-n", ns, tree}, ctl...)...)
	outputs = append(outputs, bad.stdout, bad.stderr)
	if bad.code == 0 || !strings.Contains(bad.stderr, "nothing removed") || !strings.Contains(bad.stderr, "the controller cannot decrypt it") {
		t.Fatalf("a SealedSecret the controller cannot open did not stop the run: exit %d\n%s", bad.code, bad.stderr)
	}
	for name := range files {
		if _, err := os.Stat(filepath.Join(tree, name)); err != nil {
			t.Errorf("%s was removed although verification failed", name)
		}
	}

	// With the controller's certificate, checked through /v1/verify.
	good := keyward(ctx, t, work, cfgHome, append([]string{"migrate", "seal", "--replace", "-n", ns, tree}, ctl...)...).must(t)
	outputs = append(outputs, good.stdout, good.stderr)
	for _, gone := range []string{"k/token.txt"} {
		if _, err := os.Stat(filepath.Join(tree, gone)); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	b, _ := os.ReadFile(filepath.Join(tree, "app/db.yaml"))
	if strings.Contains(string(b), "kind: Secret") || !strings.Contains(string(b), "kind: ConfigMap") {
		t.Errorf("app/db.yaml now:\n%s", b)
	}
	k, _ := os.ReadFile(filepath.Join(tree, "k/kustomization.yaml"))
	if strings.Contains(string(k), "secretGenerator") || !strings.Contains(string(k), "api.sealedsecret.yaml") {
		t.Errorf("kustomization.yaml now:\n%s", k)
	}

	// The controller opens what was written, and makes the same Secrets.
	client, err := controllerclient.New(env.cfg, env.ctlNS, controllerclient.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]map[string][]byte{
		"app/db.sealedsecret.yaml": {"password": []byte(pw)},
		"k/api.sealedsecret.yaml":  {"token": []byte(tok)},
	} {
		b, err := os.ReadFile(filepath.Join(tree, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Verify(ctx, b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		ss, err := sealing.ParseSealedSecret(b)
		if err != nil {
			t.Fatal(err)
		}
		obj, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(ss)
		if _, err := dyn.Resource(tosealed.SealedSecrets).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitData(ctx, t, ns, ss.Name, want)
	}

	// Run twice, nothing changes.
	again := keyward(ctx, t, work, cfgHome, append([]string{"migrate", "seal", "--replace", "-n", ns, tree}, ctl...)...).must(t)
	outputs = append(outputs, again.stdout, again.stderr)
	if !strings.Contains(again.stdout, "seal: made 0 change(s)") {
		t.Errorf("the rerun changed something:\n%s", again.stdout)
	}
	for _, o := range outputs {
		noLeak(t, "the command's output", o, values)
	}
	noLeakInFiles(t, tree, values)
	noLeakInLog(t, values)
}

func waitData(ctx context.Context, t *testing.T, ns, name string, want map[string][]byte) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		s, err := env.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && sealing.MatchSecret(s, want) == nil, nil
	})
	if err != nil {
		t.Fatalf("Secret %s/%s never held the original data", ns, name)
	}
}

// An API server restart in the middle of --apply: the command retries
// through it and finishes; no Secret is ever missing or different.
func TestAPIServerRestartDuringApply(t *testing.T) {
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	names, values := makeSecrets(ctx, t, ns, 100)
	g := watchSecrets(ctx, t, ns, names)
	work, cfgHome := t.TempDir(), t.TempDir()

	cmd := exec.CommandContext(ctx, env.bin, "migrate", "seal", "-n", ns, "--out", "sealed", "--apply", "--timeout", "3m", "--controller-namespace", env.ctlNS)
	cmd.Dir = work
	cmd.Env = []string{"KUBECONFIG=" + env.kubeconfig, "XDG_CONFIG_HOME=" + cfgHome, "HOME=" + cfgHome}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var stderr strings.Builder
	restarted := make(chan error, 1)
	var restartedAt atomic.Int64
	var applied []time.Time
	sc := bufio.NewScanner(pr)
	started := false
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "applied SealedSecret") {
			applied = append(applied, time.Now())
			if !started {
				started = true
				go func() {
					err := cluster.RestartAPIServer(ctx, nil)
					restartedAt.Store(time.Now().UnixNano())
					restarted <- err
				}()
			}
		}
	}
	err := cmd.Wait()
	ended := time.Now()
	if !started {
		t.Fatalf("the run applied nothing: %v\n%s", err, stderr.String())
	}
	if rerr := <-restarted; rerr != nil {
		t.Fatal(rerr)
	}
	// The restart fell in the middle: the run was still going when the API
	// server was back, so it went through the outage.
	after := 0
	for _, at := range applied {
		if at.UnixNano() > restartedAt.Load() {
			after++
		}
	}
	if ended.UnixNano() < restartedAt.Load() {
		t.Fatalf("the run finished before the API server was back (%d applied in all): the restart was not in the middle", len(applied))
	}
	t.Logf("%d of %d SealedSecrets applied after the restart", after, len(applied))
	if err != nil {
		t.Fatalf("the run did not get through the restart: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	g.verify(t)
	assertAdopted(ctx, t, g, names)
	noLeak(t, "the command's output", stdout.String()+stderr.String(), values)
	noLeakInFiles(t, work, values)
	noLeakInLog(t, values)
}

// kill -9 in the middle of a run, then a rerun: the rerun finishes the
// job, a third run changes nothing, and no Secret was ever missing or
// different.
func TestKilledRunFinishesOnRerun(t *testing.T) {
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	names, values := makeSecrets(ctx, t, ns, 16)
	g := watchSecrets(ctx, t, ns, names)
	work, cfgHome := t.TempDir(), t.TempDir()
	args := []string{"migrate", "seal", "-n", ns, "--out", "sealed", "--apply", "--controller-namespace", env.ctlNS}

	// 16 files written, 16 Secrets marked (eight at a time), then the
	// applies: kill in the middle of those.
	killed := killAfter(ctx, t, work, cfgHome, 2*len(names)+4, args...)
	managed := 0
	for _, n := range names {
		s, err := env.kube.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.OwnerReferences) > 0 {
			managed++
		}
	}
	if managed == len(names) {
		t.Fatal("the killed run had finished everything: the kill was not in the middle")
	}
	t.Logf("killed with %d of %d Secrets taken over", managed, len(names))
	rerun := keyward(ctx, t, work, cfgHome, args...).must(t)
	if managed > 0 && !strings.Contains(rerun.stdout, "already managed by SealedSecret/") {
		t.Errorf("the rerun did not pick up where the killed run stopped:\n%s", rerun.stdout)
	}
	third := keyward(ctx, t, work, cfgHome, args...).must(t)
	if !strings.Contains(third.stdout, "seal: made 0 change(s)") {
		t.Errorf("a third run changed something:\n%s", third.stdout)
	}
	g.verify(t)
	assertAdopted(ctx, t, g, names)
	for _, o := range []string{killed, rerun.stdout, rerun.stderr, third.stdout, third.stderr} {
		noLeak(t, "the command's output", o, values)
	}
	noLeakInFiles(t, work, values)
	noLeakInLog(t, values)
	// The files are SealedSecrets the controller's key opens.
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(work, "sealed", n+".sealedsecret.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ss, err := sealing.ParseSealedSecret(b)
		if err != nil || ss.Kind != ssv1.Kind {
			t.Fatalf("%s: %v", n, err)
		}
	}
}
