// Command benchaudit measures `keyward audit access -o json` at the scale
// issue 16 names: a real test cluster holding 20,000 Secrets, 2,000
// ServiceAccounts, 5,000 RoleBindings and 500 Roles (plus Pods that mount
// Secrets, so the exec and node paths have work to do). keyward runs as a
// user runs it, a child process; wall time, CPU and peak RSS come from the
// kernel's accounting, through hack/benchpeers/rusage so the figure is the
// command's own.
//
// `make bench-audit` runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/scale"
)

type options struct {
	keyward                                   string
	out                                       string
	runs                                      int
	namespaces                                int
	secrets, serviceAccounts, roles, bindings int
	pods                                      int
}

// usage is what rusage writes.
type usage struct {
	WallNanos int64 `json:"wall_ns"`
	CPUNanos  int64 `json:"cpu_ns"`
	MaxRSSKiB int64 `json:"maxrss_kib"`
	Exit      int   `json:"exit"`
}

type run struct {
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	Records     int     `json:"records"`
}

type report struct {
	Command string         `json:"command"`
	Date    string         `json:"date"`
	Machine string         `json:"machine"`
	Objects map[string]int `json:"objects"`
	Runs    []run          `json:"runs"`
	Median  run            `json:"median"`
	Targets []string       `json:"targets"`
}

func main() {
	var o options
	flag.StringVar(&o.keyward, "keyward", "bin/keyward", "the keyward binary to measure")
	flag.StringVar(&o.out, "out", "bin/bench-audit.json", "where to write the figures as JSON")
	flag.IntVar(&o.runs, "runs", 3, "runs of the command")
	flag.IntVar(&o.namespaces, "namespaces", 100, "namespaces the objects are spread over")
	flag.IntVar(&o.secrets, "secrets", 20000, "Secrets")
	flag.IntVar(&o.serviceAccounts, "serviceaccounts", 2000, "ServiceAccounts")
	flag.IntVar(&o.roles, "roles", 500, "Roles")
	flag.IntVar(&o.bindings, "rolebindings", 5000, "RoleBindings")
	flag.IntVar(&o.pods, "pods", 1000, "Pods, each mounting two Secrets")
	flag.Parse()
	if err := benchmark(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-audit:", err)
		os.Exit(1)
	}
}

func benchmark(o options) error {
	kw, err := filepath.Abs(o.keyward)
	if err != nil {
		return err
	}
	if _, err := os.Stat(kw); err != nil {
		return fmt.Errorf("keyward binary: %w (run make build)", err)
	}
	work, err := os.MkdirTemp("", "bench-audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	launcher := filepath.Join(work, "rusage")
	if b, err := exec.Command("go", "build", "-o", launcher, "./hack/benchpeers/rusage").CombinedOutput(); err != nil {
		return fmt.Errorf("building the rusage launcher: %v\n%s", err, b)
	}

	ctx := context.Background()
	say("starting the test cluster")
	c, err := testcluster.Start(ctx, testcluster.Options{NoControllerManager: true})
	if err != nil {
		return err
	}
	defer c.Stop()
	start := time.Now()
	// Namespaces, then what lives in them, then the Pods that need their
	// ServiceAccounts to exist.
	for _, phase := range objects(o) {
		say(fmt.Sprintf("creating %d objects", len(phase)))
		if err := scale.CreateAll(ctx, c.Client, phase, 16, nil); err != nil {
			return err
		}
	}
	say(fmt.Sprintf("created in %s", time.Since(start).Round(time.Second)))

	rep := report{
		Command: "make bench-audit",
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: fmt.Sprintf("%d CPUs, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH),
		Objects: map[string]int{"namespaces": o.namespaces, "secrets": o.secrets, "serviceaccounts": o.serviceAccounts,
			"roles": o.roles, "rolebindings": o.bindings, "pods": o.pods},
	}
	for i := range o.runs {
		r, err := measure(launcher, kw, c.Kubeconfig, work)
		if err != nil {
			return err
		}
		say(fmt.Sprintf("run %d: %.2f s, %.2f s CPU, %.1f MB peak RSS, %d records", i+1, r.WallSeconds, r.CPUSeconds, r.PeakRSSMB, r.Records))
		rep.Runs = append(rep.Runs, r)
	}
	rep.Median = median(rep.Runs)
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	rep.Targets = []string{
		fmt.Sprintf("wall ≤ 10 s: %.2f s %s", rep.Median.WallSeconds, verdict(rep.Median.WallSeconds <= 10)),
		fmt.Sprintf("peak RSS ≤ 300 MB: %.1f MB %s", rep.Median.PeakRSSMB, verdict(rep.Median.PeakRSSMB <= 300)),
	}
	fmt.Printf("\nkeyward audit access -o json, %d Secrets, %d ServiceAccounts, %d RoleBindings, %d Roles, %d Pods (%s)\n",
		o.secrets, o.serviceAccounts, o.bindings, o.roles, o.pods, rep.Machine)
	fmt.Printf("median of %d runs: %.2f s wall, %.2f s CPU, %.1f MB peak RSS, %d records\n",
		len(rep.Runs), rep.Median.WallSeconds, rep.Median.CPUSeconds, rep.Median.PeakRSSMB, rep.Median.Records)
	for _, t := range rep.Targets {
		fmt.Println("  " + t)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.out, append(b, '\n'), 0o644)
}

// measure runs the command once, its output to a file, and counts the
// records it printed.
func measure(launcher, kw, kubeconfig, work string) (run, error) {
	usageFile := filepath.Join(work, "usage.json")
	outFile := filepath.Join(work, "out.json")
	out, err := os.Create(outFile)
	if err != nil {
		return run{}, err
	}
	defer out.Close()
	cmd := exec.Command(launcher, "-o", usageFile, "--", kw, "audit", "access", "-o", "json",
		"--kubeconfig", kubeconfig, "--no-progress", "--fail-on", "none")
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("keyward audit access: %w", err)
	}
	var u usage
	b, err := os.ReadFile(usageFile)
	if err != nil {
		return run{}, err
	}
	if err := json.Unmarshal(b, &u); err != nil {
		return run{}, err
	}
	if _, err := out.Seek(0, 0); err != nil {
		return run{}, err
	}
	var recs []json.RawMessage
	if err := json.NewDecoder(out).Decode(&recs); err != nil {
		return run{}, fmt.Errorf("reading the command's JSON: %w", err)
	}
	return run{
		WallSeconds: float64(u.WallNanos) / 1e9,
		CPUSeconds:  float64(u.CPUNanos) / 1e9,
		PeakRSSMB:   float64(u.MaxRSSKiB) * 1024 / 1e6,
		Records:     len(recs),
	}, nil
}

func median(rs []run) run {
	pick := func(get func(run) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return run{
		WallSeconds: pick(func(r run) float64 { return r.WallSeconds }),
		CPUSeconds:  pick(func(r run) float64 { return r.CPUSeconds }),
		PeakRSSMB:   pick(func(r run) float64 { return r.PeakRSSMB }),
		Records:     rs[0].Records,
	}
}

// objects spreads the cluster's contents over namespaces the way teams
// have them: each namespace its Secrets, ServiceAccounts, a few Roles
// (reading named Secrets, reading all, reading ConfigMaps, creating Pods,
// exec into Pods) and many bindings of those Roles to its ServiceAccounts,
// users and groups; Pods that mount Secrets; and a few ClusterRoles bound
// cluster-wide, as operators and CI systems install.
func objects(o options) [][]client.Object {
	var nss, objs, pods []client.Object
	nsName := func(i int) string { return fmt.Sprintf("team-%03d", i%o.namespaces) }
	for i := range o.namespaces {
		nss = append(nss, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}})
	}
	// The i-th object of a kind goes to namespace i mod namespaces, as the
	// (i / namespaces)-th of its kind there.
	perNS := func(i int) int { return i / o.namespaces }
	for i := range o.secrets {
		objs = append(objs, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsName(i), Name: fmt.Sprintf("secret-%04d", perNS(i))},
			StringData: map[string]string{"password": fmt.Sprintf("bench-value-%06d", i)},
		})
	}
	for i := range o.serviceAccounts {
		objs = append(objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: nsName(i), Name: fmt.Sprintf("sa-%03d", perNS(i))}})
	}
	kinds := []func(n int) rbacv1.PolicyRule{
		func(n int) rbacv1.PolicyRule {
			return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"},
				ResourceNames: []string{fmt.Sprintf("secret-%04d", n), fmt.Sprintf("secret-%04d", n+1)}}
		},
		func(int) rbacv1.PolicyRule {
			return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}
		},
		func(int) rbacv1.PolicyRule {
			return rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "update"}}
		},
		func(int) rbacv1.PolicyRule {
			return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}}
		},
		func(int) rbacv1.PolicyRule {
			return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}
		},
	}
	rolesPerNS := max(1, o.roles/o.namespaces)
	for i := range o.roles {
		n := perNS(i)
		objs = append(objs, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: nsName(i), Name: fmt.Sprintf("role-%02d", n)},
			Rules: []rbacv1.PolicyRule{kinds[n%len(kinds)](n * 2)}})
	}
	sasPerNS := max(1, o.serviceAccounts/o.namespaces)
	for i := range o.bindings {
		n := perNS(i)
		subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: fmt.Sprintf("sa-%03d", n%sasPerNS), Namespace: nsName(i)}
		switch n % 10 {
		case 7:
			subject = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("dev-%d@example.com", n)}
		case 9:
			subject = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("team-%d", n%7)}
		}
		objs = append(objs, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsName(i), Name: fmt.Sprintf("binding-%03d", n)},
			Subjects:   []rbacv1.Subject{subject},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: fmt.Sprintf("role-%02d", n%rolesPerNS)},
		})
	}
	f := false
	for i := range o.pods {
		n := perNS(i)
		pods = append(pods, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsName(i), Name: fmt.Sprintf("pod-%03d", n)},
			Spec: corev1.PodSpec{
				ServiceAccountName: fmt.Sprintf("sa-%03d", n%sasPerNS), AutomountServiceAccountToken: &f,
				NodeName:   fmt.Sprintf("node-%02d", i%20),
				Containers: []corev1.Container{{Name: "app", Image: "app:1", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("secret-%04d", 2*n+1)}}}}}},
				Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: fmt.Sprintf("secret-%04d", 2*n)}}}},
			},
		})
	}
	for i := range 20 {
		objs = append(objs,
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-operator-%02d", i)},
				Rules: []rbacv1.PolicyRule{kinds[(i+4)%len(kinds)](i)}},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-operator-%02d", i)},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "sa-000", Namespace: nsName(i)}},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("bench-operator-%02d", i)}})
	}
	return [][]client.Object{nss, objs, pods}
}

func say(msg string) { fmt.Fprintf(os.Stderr, "bench-audit: %s\n", msg) }
