package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/internal/sealing"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/peers"
	"github.com/keyward/keyward/test/proc"
	"github.com/keyward/keyward/test/scale"
)

// The controller runs, in the order they are made: the short ones first,
// so a developer sees figures before Bitnami's twenty minutes at its
// defaults.
const (
	runKeyward         = "keyward"
	runBitnamiNoLimit  = "bitnami-no-limiter"
	runBitnamiDefaults = "bitnami-defaults"
)

var unsealRunOrder = []string{runKeyward, runBitnamiNoLimit, runBitnamiDefaults}

// bitnamiNoLimiter turns off client-go's client-side rate limiter in
// Bitnami's controller, as its flag's help says: a negative QPS.
var bitnamiNoLimiter = []string{"--kubeclient-qps=-1"}

// Namespaces of each run's cluster.
const (
	nsController = "bench-controller"
	nsSealed     = "bench-sealed"
	nsUnrelated  = "bench-unrelated"
)

type unsealOptions struct {
	sealed      int
	unrelated   int
	unrelatedKB int
	runs        string
	timeout     time.Duration
}

type unsealReport struct {
	SealedSecrets int         `json:"sealed_secrets"`
	Unrelated     int         `json:"unrelated_secrets"`
	UnrelatedKB   int         `json:"unrelated_secret_kb"`
	Key           string      `json:"key"`
	Method        []string    `json:"method"`
	Runs          []unsealRun `json:"runs"`
	// Keyward's time to every Secret against each of Bitnami's (above 1:
	// Keyward is faster), and its peaks over Bitnami's smaller one (below
	// 1: Keyward is smaller); zero when a run is missing.
	SpeedupVsDefaults  float64 `json:"speedup_vs_bitnami_defaults"`
	SpeedupVsNoLimiter float64 `json:"speedup_vs_bitnami_no_limiter"`
	RSSRatio           float64 `json:"peak_rss_ratio"`
	AnonRatio          float64 `json:"peak_anon_ratio"`
	WorkingSetRatio    float64 `json:"peak_working_set_ratio"`
}

// unsealRun is one controller's run on a fresh cluster.
type unsealRun struct {
	Name       string   `json:"name"`
	Controller string   `json:"controller"`
	Args       []string `json:"args"`
	// UnrelatedSeconds is how long the unrelated Secrets took to create
	// (before the controller starts; not measured against it).
	UnrelatedSeconds float64 `json:"unrelated_create_seconds"`
	// ApplySeconds is how long creating the SealedSecrets took, Seconds
	// from the start of that until every Secret existed.
	ApplySeconds float64 `json:"apply_seconds"`
	Seconds      float64 `json:"seconds_to_every_secret"`
	// The controller's CPU time from the start of the apply until every
	// Secret existed, and until it was idle again after (status updates
	// and events included); the per-SealedSecret figures use the latter.
	CPUSecondsToEverySecret float64 `json:"cpu_seconds_to_every_secret"`
	CPUSeconds              float64 `json:"cpu_seconds"`
	CPUPerSealedSecretMs    float64 `json:"cpu_ms_per_sealedsecret"`
	CPUPerDecryption        float64 `json:"cpu_per_sealedsecret_over_one_decryption"`
	PeakRSSMiB              float64 `json:"peak_rss_mib"`
	PeakAnonMiB             float64 `json:"peak_anon_mib"`
	// PeakWorkingSetMiB is -1 when no cgroup could be made.
	PeakWorkingSetMiB float64 `json:"peak_working_set_mib"`
	Floor             floor   `json:"rsa_floor"`
	// OverFloor is Seconds over Floor.Seconds.
	OverFloor float64 `json:"seconds_over_floor"`
}

// floor is the least any controller can take: one RSA-4096 decryption
// per SealedSecret, spread over every core.
type floor struct {
	DecryptionMs float64 `json:"one_decryption_ms"`
	Samples      int     `json:"samples"`
	CPUs         int     `json:"cpus"`
	Seconds      float64 `json:"seconds"`
}

// benchUnseal makes the sealed set once, then for each selected run starts
// a fresh cluster, fills it, starts one controller, applies the set and
// measures; runs go one after another, never two at once.
func benchUnseal(o unsealOptions, keyward, bitnami, work string) (*unsealReport, error) {
	runs, err := selectRuns(o.runs)
	if err != nil {
		return nil, err
	}
	if err := checkDefaultsEnv(); err != nil {
		return nil, err
	}
	// envtest logs through controller-runtime; its lines are not figures.
	ctrllog.SetLogger(logr.Discard())
	binDir := filepath.Join(work, "unseal-bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return nil, err
	}
	kw, err := copyBinary(keyward, binDir)
	if err != nil {
		return nil, err
	}
	bn, err := copyBinary(bitnami, binDir)
	if err != nil {
		return nil, err
	}
	progress("unseal: generating an RSA-4096 sealing key and sealing %d SealedSecrets for it", o.sealed)
	pair, err := keys.Generate(4096, "bench-peers", 24*time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	sss, err := scale.SealMany(&pair.Key.PublicKey, nsSealed, o.sealed)
	if err != nil {
		return nil, err
	}
	rep := &unsealReport{SealedSecrets: o.sealed, Unrelated: o.unrelated, UnrelatedKB: o.unrelatedKB,
		Key: "RSA-4096, one item per SealedSecret, strict scope",
		Method: []string{
			"each controller on a fresh cluster (test/cluster: etcd, kube-apiserver, kube-controller-manager) started and filled the same way, so none inherits another's objects, deletions or watch history",
			"the same SealedSecrets, sealed once; the same sealing key in a key Secret of the controller's namespace",
			"Keyward: keyward controller at its defaults, only its SealedSecret controller on (Bitnami's does only that); Bitnami v0.40.0 at its defaults, and with --kubeclient-qps=-1, its flag's documented way to turn client-go's rate limiter off",
			"each controller with its own install's RBAC, as a ServiceAccount",
			"the controller idle before the apply; SealedSecrets created by 16 parallel clients",
			"time: from the start of the apply until a watch saw every Secret; every Secret's value checked after",
			"CPU: utime+stime of the controller process (/proc/PID/stat)",
			"peak RSS: VmHWM; peak anonymous: RssAnon sampled every 50 ms",
			"RSA floor: one RSA-OAEP-4096 decryption of a SealedSecret's item as Keyward's unseal does it, thread CPU time, median of 101 timings just before each apply and 101 once the controller is idle after it, × SealedSecrets ÷ CPUs",
		},
	}
	for _, run := range runs {
		r, err := unsealOnce(o, run, kw, bn, pair, sss, work)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", run, err)
		}
		rep.Runs = append(rep.Runs, r)
		if r.PeakWorkingSetMiB < 0 && !slices.Contains(rep.Method, workingSetMissing) {
			rep.Method = append(rep.Method, workingSetMissing)
		}
	}
	if rep.Runs[0].PeakWorkingSetMiB >= 0 {
		rep.Method = append(rep.Method, "peak working set: a cgroup v1 memory cgroup per controller, joined before it execs, below this command's own; memory.usage_in_bytes minus total_inactive_file of memory.stat (as kubelet computes it), sampled every 100 ms; file pages another cgroup cached first (the copied binary's) are charged there, not to the controller, and mapped file pages on the inactive list do not count, as in kubelet's figure")
	}
	rep.ratios()
	return rep, nil
}

const workingSetMissing = "peak working set: not measured, no memory cgroup could be made here (see the log)"

func selectRuns(list string) ([]string, error) {
	var out []string
	want := strings.Split(list, ",")
	for _, w := range want {
		if !slices.Contains(unsealRunOrder, strings.TrimSpace(w)) {
			return nil, fmt.Errorf("-unseal-runs: unknown run %q (want some of %s)", w, strings.Join(unsealRunOrder, ","))
		}
	}
	for _, r := range unsealRunOrder {
		for _, w := range want {
			if strings.TrimSpace(w) == r && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (r *unsealReport) run(name string) *unsealRun {
	for i := range r.Runs {
		if r.Runs[i].Name == name {
			return &r.Runs[i]
		}
	}
	return nil
}

func (r *unsealReport) ratios() {
	kw := r.run(runKeyward)
	if kw == nil {
		return
	}
	var rss, anon, ws []float64
	for _, name := range []string{runBitnamiDefaults, runBitnamiNoLimit} {
		b := r.run(name)
		if b == nil {
			continue
		}
		if name == runBitnamiDefaults {
			r.SpeedupVsDefaults = b.Seconds / kw.Seconds
		} else {
			r.SpeedupVsNoLimiter = b.Seconds / kw.Seconds
		}
		rss, anon, ws = append(rss, b.PeakRSSMiB), append(anon, b.PeakAnonMiB), append(ws, b.PeakWorkingSetMiB)
	}
	if len(rss) == 0 {
		return
	}
	// Against Bitnami's smaller peak of its runs: the stricter ratio.
	r.RSSRatio = kw.PeakRSSMiB / slices.Min(rss)
	r.AnonRatio = kw.PeakAnonMiB / slices.Min(anon)
	if kw.PeakWorkingSetMiB > 0 && slices.Min(ws) > 0 {
		r.WorkingSetRatio = kw.PeakWorkingSetMiB / slices.Min(ws)
	}
}

func unsealOnce(o unsealOptions, run, keyward, bitnami string, pair *keys.Pair, sss []*ssv1.SealedSecret, work string) (unsealRun, error) {
	r := unsealRun{Name: run, Args: []string{}}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dir := filepath.Join(work, run)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return r, err
	}

	progress("unseal: %s: starting a fresh cluster", run)
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return r, err
	}
	if err := ssv1.AddToScheme(scheme); err != nil {
		return r, err
	}
	cl, err := testcluster.Start(ctx, testcluster.Options{Scheme: scheme})
	if err != nil {
		return r, err
	}
	defer cl.Stop()
	// The writers are not what is measured: a client-side limit far above
	// what they reach, so the API server sets their pace.
	fastCfg := *cl.Config
	fastCfg.QPS, fastCfg.Burst = 5000, 5000
	fast, err := client.New(&fastCfg, client.Options{Scheme: scheme})
	if err != nil {
		return r, err
	}
	for _, ns := range []string{nsController, nsSealed, nsUnrelated} {
		if err := createObjects(ctx, cl.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return r, err
		}
	}

	start := time.Now()
	stopTicker := every(5*time.Second, func(count func() int) string {
		return fmt.Sprintf("unseal: %s: %d/%d unrelated %d KB Secrets created after %s", run, count(), o.unrelated, o.unrelatedKB,
			time.Since(start).Round(time.Second))
	})
	err = scale.CreateAll(ctx, fast, scale.UnrelatedSecrets(nsUnrelated, o.unrelated, o.unrelatedKB*1024), 32, stopTicker.set)
	stopTicker.stop()
	if err != nil {
		return r, err
	}
	r.UnrelatedSeconds = time.Since(start).Seconds()
	progress("unseal: %s: %d unrelated Secrets created in %s", run, o.unrelated, time.Since(start).Round(time.Second))
	if err := createObjects(ctx, cl.Client, pair.Secret(nsController, keys.DefaultKeyPrefix+"-bench", nil, nil)); err != nil {
		return r, err
	}

	cg, cgErr := newMemCgroup(run)
	cgDir := ""
	if cgErr != nil {
		progress("unseal: %s: peak working set not measured: %v", run, cgErr)
	} else {
		cgDir = cg.dir
		defer cg.remove()
	}

	var ctl controller
	switch run {
	case runKeyward:
		r.Controller = firstLine(keyward, "version")
		objs, err := keywardRBAC(nsController, "keyward")
		if err != nil {
			return r, err
		}
		if err := createObjects(ctx, cl.Client, objs...); err != nil {
			return r, err
		}
		cfg, err := cl.ServiceAccountConfig(ctx, nsController, "keyward")
		if err != nil {
			return r, err
		}
		kubeconfig := filepath.Join(dir, "kubeconfig")
		if err := writeKubeconfig(kubeconfig, cfg); err != nil {
			return r, err
		}
		progress("unseal: %s: starting the keyward controller", run)
		p, err := startKeyward(keyward, kubeconfig, nsController, cgDir, dir)
		if err != nil {
			return r, err
		}
		ctl = p
	default:
		r.Controller = "Bitnami sealed-secrets controller " + firstLine(bitnami, "--version")
		if run == runBitnamiNoLimit {
			r.Args = bitnamiNoLimiter
		}
		if err := createObjects(ctx, cl.Client, peers.ChartRBAC(nsController)...); err != nil {
			return r, err
		}
		cfg, err := cl.ServiceAccountConfig(ctx, nsController, peers.ServiceAccount)
		if err != nil {
			return r, err
		}
		progress("unseal: %s: starting Bitnami's controller %v", run, r.Args)
		c, err := peers.Launch(bitnami, peers.InClusterFor(cfg, nsController), peers.LaunchOptions{Dir: dir, Cgroup: cgDir}, r.Args...)
		if err != nil {
			return r, err
		}
		ctl = c
	}
	defer ctl.Stop()
	pid := ctl.Pid()
	peakAnon := proc.SampleMax(50*time.Millisecond, func() (int64, error) { return proc.Status(pid, "RssAnon") })
	peakWS := func() int64 { return -1 << 20 }
	if cg != nil {
		peakWS = proc.SampleMax(100*time.Millisecond, cg.workingSet)
	}
	failed := func(err error) (unsealRun, error) {
		peakAnon()
		peakWS()
		return r, fmt.Errorf("%w; controller log:\n%s", err, proc.Tail(ctl.Log(), 20))
	}

	progress("unseal: %s: waiting for the controller to be idle after its start", run)
	if _, err := waitIdle(pid, time.Second, 3*time.Minute); err != nil {
		return failed(err)
	}
	progress("unseal: %s: timing one RSA-4096 decryption (the floor)", run)
	floorBefore, err := timeDecryption(sss[0], pair.Key)
	if err != nil {
		return failed(err)
	}
	watch, err := scale.WatchSecrets(ctx, cl.Clientset.CoreV1().Secrets(nsSealed), metav1.ListOptions{}, o.sealed)
	if err != nil {
		return failed(err)
	}
	objs := make([]client.Object, len(sss))
	for i, ss := range sss {
		objs[i] = ss.DeepCopy()
	}
	cpu0, err := proc.CPU(pid)
	if err != nil {
		return failed(err)
	}
	progress("unseal: %s: applying %d SealedSecrets", run, o.sealed)
	start = time.Now()
	stopTicker = every(5*time.Second, func(func() int) string {
		return fmt.Sprintf("unseal: %s: %d/%d Secrets after %s", run, watch.Seen(), o.sealed, time.Since(start).Round(time.Second))
	})
	err = scale.CreateAll(ctx, fast, objs, 16, nil)
	r.ApplySeconds = time.Since(start).Seconds()
	if err != nil {
		stopTicker.stop()
		return failed(err)
	}
	var at time.Time
	select {
	case at = <-watch.Done():
	case <-ctl.Exited():
	case <-ctx.Done():
	}
	stopTicker.stop()
	if at.IsZero() {
		return failed(fmt.Errorf("%d of %d Secrets after %s (timeout %s, or the controller exited)",
			watch.Seen(), o.sealed, time.Since(start).Round(time.Second), o.timeout))
	}
	r.Seconds = at.Sub(start).Seconds()
	cpuAll, err := proc.CPU(pid)
	if err != nil {
		return failed(err)
	}
	progress("unseal: %s: every Secret after %.1f s; waiting for the controller to be idle", run, r.Seconds)
	cpuEnd, err := waitIdle(pid, 2*time.Second, 2*time.Minute)
	if err != nil {
		return failed(err)
	}
	rss, err := proc.Status(pid, "VmHWM")
	if err != nil {
		return failed(err)
	}
	// Timed again now the controller is idle: the machine's load may have
	// changed during the run; the floor is the median of both sets.
	floorAfter, err := timeDecryption(sss[0], pair.Key)
	if err != nil {
		return failed(err)
	}
	r.Floor = makeFloor(append(floorBefore, floorAfter...), o.sealed)
	r.PeakAnonMiB = mib(peakAnon())
	r.PeakWorkingSetMiB = mib(peakWS())
	r.PeakRSSMiB = mib(rss)
	r.CPUSecondsToEverySecret = (cpuAll - cpu0).Seconds()
	r.CPUSeconds = (cpuEnd - cpu0).Seconds()
	r.CPUPerSealedSecretMs = r.CPUSeconds * 1000 / float64(o.sealed)
	r.CPUPerDecryption = r.CPUPerSealedSecretMs / r.Floor.DecryptionMs
	r.OverFloor = r.Seconds / r.Floor.Seconds
	if err := scale.CheckValues(ctx, cl.Clientset.CoreV1().Secrets(nsSealed), o.sealed); err != nil {
		return r, fmt.Errorf("after the run: %w", err)
	}
	progress("unseal: %s: %.1f s, %.1f CPU s, peak RSS %.1f MiB, anonymous %.1f MiB, working set %.1f MiB",
		run, r.Seconds, r.CPUSeconds, r.PeakRSSMiB, r.PeakAnonMiB, r.PeakWorkingSetMiB)
	return r, nil
}

// timeDecryption times one decryption of ss's item with key 101 times,
// as Keyward's unseal makes it (seal.OpenString under the SealedSecret's
// label), in this thread's CPU time, so neither it nor a controller's CPU
// time counts waiting for a core on a busy machine. Milliseconds.
func timeDecryption(ss *ssv1.SealedSecret, key *rsa.PrivateKey) ([]float64, error) {
	const samples = 101
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	label, ct := sealing.Label(ss), ss.Spec.EncryptedData["v"]
	ks := []*rsa.PrivateKey{key}
	ms := make([]float64, 0, samples)
	for range samples {
		t0, err := threadCPU()
		if err != nil {
			return nil, err
		}
		plain, _, err := seal.OpenString(ks, label, ct)
		t1, _ := threadCPU()
		if err != nil {
			return nil, fmt.Errorf("decrypting SealedSecret %s for the floor: %w", ss.Name, err)
		}
		if string(plain) != scale.Value(0) {
			return nil, errors.New("the floor's decryption gave another value than was sealed")
		}
		ms = append(ms, float64(t1-t0)/1e6)
	}
	return ms, nil
}

// makeFloor is the floor of sealed SealedSecrets from decryption times.
func makeFloor(ms []float64, sealed int) floor {
	f := floor{DecryptionMs: median(ms), Samples: len(ms), CPUs: runtime.NumCPU()}
	f.Seconds = f.DecryptionMs / 1000 * float64(sealed) / float64(f.CPUs)
	return f
}

func threadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("thread CPU clock: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// ticker prints a progress line every period until stopped; set records a
// count it may print.
type ticker struct {
	count chan int
	done  chan struct{}
	n     int
}

func every(period time.Duration, line func(count func() int) string) *ticker {
	t := &ticker{count: make(chan int, 64), done: make(chan struct{})}
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-t.done:
				return
			case n := <-t.count:
				t.n = max(t.n, n)
			case <-tick.C:
				progress("%s", line(func() int { return t.n }))
			}
		}
	}()
	return t
}

// set records count without ever blocking the caller.
func (t *ticker) set(count int) {
	select {
	case t.count <- count:
	default:
	}
}

func (t *ticker) stop() { close(t.done) }

func unsealTargets(u *unsealReport) []target {
	if u == nil {
		return nil
	}
	kw := u.run(runKeyward)
	if kw == nil {
		return nil
	}
	var ts []target
	if u.SpeedupVsDefaults > 0 {
		ts = append(ts, target{Section: "unseal", Name: fmt.Sprintf("unseal %d: at least 50× Bitnami at its defaults", u.SealedSecrets), Want: ">= 50",
			Unit: "× its speed", Got: u.SpeedupVsDefaults, Met: u.SpeedupVsDefaults >= 50})
	}
	if u.SpeedupVsNoLimiter > 0 {
		ts = append(ts, target{Section: "unseal", Name: fmt.Sprintf("unseal %d: at least 2.5× Bitnami, limiter off", u.SealedSecrets), Want: ">= 2.5",
			Unit: "× its speed", Got: u.SpeedupVsNoLimiter, Met: u.SpeedupVsNoLimiter >= 2.5})
	}
	rssMB := kw.PeakRSSMiB * (1 << 20) / 1e6
	ts = append(ts,
		target{Section: "unseal", Name: "controller CPU per SealedSecret", Want: "<= 1.2", Unit: "× one RSA-4096 decryption",
			Got: kw.CPUPerDecryption, Met: kw.CPUPerDecryption <= 1.2},
		target{Section: "unseal", Name: "controller peak RSS (no page release)", Want: "<= 60", Unit: "MB",
			Got: rssMB, Met: rssMB <= 60})
	if u.RSSRatio > 0 {
		ts = append(ts, target{Section: "unseal", Name: "controller peak RSS: at most 1/9 of Bitnami's", Want: "<= 0.111", Unit: "× Bitnami's",
			Got: u.RSSRatio, Met: u.RSSRatio <= 1.0/9})
	}
	return append(ts, target{Section: "unseal", Name: "controller peak anonymous memory", Want: "<= 32", Unit: "MiB",
		Got: kw.PeakAnonMiB, Met: kw.PeakAnonMiB <= 32})
}

func printUnseal(w io.Writer, u *unsealReport) {
	if u == nil {
		return
	}
	fmt.Fprintf(w, "\nSealedSecrets at scale: %d SealedSecrets (%s) applied, %d unrelated %d KB Secrets present\n",
		u.SealedSecrets, u.Key, u.Unrelated, u.UnrelatedKB)
	cols := []string{runBitnamiDefaults, runBitnamiNoLimit, runKeyward}
	fmt.Fprintf(w, "  %-36s %14s %14s %14s\n", "", "Bitnami", "Bitnami", "Keyward")
	fmt.Fprintf(w, "  %-36s %14s %14s %14s\n", "", "defaults", "limiter off", "defaults")
	row := func(name, format string, v func(*unsealRun) float64) {
		fmt.Fprintf(w, "  %-36s", name)
		for _, c := range cols {
			r := u.run(c)
			if r == nil || v(r) < 0 {
				fmt.Fprintf(w, " %14s", "-")
				continue
			}
			fmt.Fprintf(w, " %14s", fmt.Sprintf(format, v(r)))
		}
		fmt.Fprintln(w)
	}
	row("apply (create all) s", "%.1f", func(r *unsealRun) float64 { return r.ApplySeconds })
	row("apply → every Secret s", "%.1f", func(r *unsealRun) float64 { return r.Seconds })
	row("  over the RSA floor", "%.1f×", func(r *unsealRun) float64 { return r.OverFloor })
	row("CPU s to every Secret", "%.1f", func(r *unsealRun) float64 { return r.CPUSecondsToEverySecret })
	row("CPU s until idle after", "%.1f", func(r *unsealRun) float64 { return r.CPUSeconds })
	row("CPU ms per SealedSecret", "%.2f", func(r *unsealRun) float64 { return r.CPUPerSealedSecretMs })
	row("  over one decryption", "%.2f×", func(r *unsealRun) float64 { return r.CPUPerDecryption })
	row("peak RSS MiB", "%.1f", func(r *unsealRun) float64 { return r.PeakRSSMiB })
	row("peak anonymous MiB", "%.1f", func(r *unsealRun) float64 { return r.PeakAnonMiB })
	row("peak working set MiB", "%.1f", func(r *unsealRun) float64 { return r.PeakWorkingSetMiB })
	row("RSA floor: one decryption ms", "%.2f", func(r *unsealRun) float64 { return r.Floor.DecryptionMs })
	row("RSA floor s (× N ÷ CPUs)", "%.2f", func(r *unsealRun) float64 { return r.Floor.Seconds })
	for _, c := range []struct {
		name    string
		speedup float64
	}{{"at its defaults", u.SpeedupVsDefaults}, {"with its limiter off", u.SpeedupVsNoLimiter}} {
		if c.speedup > 0 {
			fmt.Fprintf(w, "  Keyward to every Secret: %.2f× as fast as Bitnami %s\n", c.speedup, c.name)
		}
	}
	if u.RSSRatio > 0 {
		fmt.Fprintf(w, "  Keyward's peaks over Bitnami's smaller: RSS %.3f×, anonymous %.3f×, working set %.3f× (0: not measured)\n",
			u.RSSRatio, u.AnonRatio, u.WorkingSetRatio)
	}
	for _, m := range u.Method {
		fmt.Fprintf(w, "  - %s\n", m)
	}
}
