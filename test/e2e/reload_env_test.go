package e2e

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/test/leak"
)

// reloadController is the reload controller alone, in-process, limited to
// the test's namespaces (so it never acts on other tests' workloads), with
// its hash key in a namespace of its own.
type reloadController struct {
	metrics *prometheus.Registry
	stop    func()
}

func startReload(ctx context.Context, t testing.TB, keyNS string, watch []string, opts manager.ReloadOptions) *reloadController {
	t.Helper()
	c := &reloadController{metrics: prometheus.NewRegistry()}
	cfg := *cluster.Config
	cfg.QPS, cfg.Burst = 500, 1000
	mgr, err := manager.New(ctx, manager.Options{
		Config: &cfg, MetricsAddr: "0", HealthAddr: "0", Registry: c.metrics, Workers: 10,
		Enabled: manager.Only("reload"), WatchNamespaces: watch, Reload: opts,
		SealedSecrets:      manager.SealedSecretsOptions{Keys: keys.RegistryOptions{Namespace: keyNS}},
		SkipNameValidation: true,
	})
	if err != nil {
		t.Fatalf("building the reload controller: %v", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("reload controller stopped with: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// podSpec is one container reading what env, envFrom and volumes say.
func podSpec(env []corev1.EnvVar, from []corev1.EnvFromSource, vols ...corev1.Volume) corev1.PodSpec {
	c := corev1.Container{Name: "app", Image: "registry.example/app:1", Env: env, EnvFrom: from}
	for _, v := range vols {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: "/etc/" + v.Name})
	}
	return corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: vols}
}

func envKey(secret, key string) []corev1.EnvVar {
	return []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}}
}

func envFrom(secret string) []corev1.EnvFromSource {
	return []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}}
}

func secretVolume(secret string, items ...string) corev1.Volume {
	v := corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}
	for _, k := range items {
		v.Secret.Items = append(v.Secret.Items, corev1.KeyToPath{Key: k, Path: k})
	}
	return v
}

func projectedVolume(secret string, items ...string) corev1.Volume {
	p := &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}
	for _, k := range items {
		p.Items = append(p.Items, corev1.KeyToPath{Key: k, Path: k})
	}
	return corev1.Volume{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{Secret: p}}}}}
}

func template(name string, spec corev1.PodSpec) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec}
}

func deployment(ns, name string, ann map[string]string, spec corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}, Template: template(name, spec)}}
}

func statefulSet(ns, name string, ann map[string]string, spec corev1.PodSpec) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}, Template: template(name, spec)}}
}

func daemonSet(ns, name string, ann map[string]string, spec corev1.PodSpec) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}, Template: template(name, spec)}}
}

// reloadState is what the controller wrote on a workload.
type reloadState struct {
	ResourceVersion string
	Observed        string // the workload's ObservedAnnotation
	Hash            string // the pod template's HashAnnotation: changes at each restart
}

func stateOf(ctx context.Context, t testing.TB, o client.Object) reloadState {
	t.Helper()
	if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
		t.Fatalf("reading %T %s: %v", o, client.ObjectKeyFromObject(o), err)
	}
	var tpl map[string]string
	switch w := o.(type) {
	case *appsv1.Deployment:
		tpl = w.Spec.Template.Annotations
	case *appsv1.StatefulSet:
		tpl = w.Spec.Template.Annotations
	case *appsv1.DaemonSet:
		tpl = w.Spec.Template.Annotations
	}
	return reloadState{ResourceVersion: o.GetResourceVersion(), Observed: o.GetAnnotations()[reload.ObservedAnnotation], Hash: tpl[reload.HashAnnotation]}
}

// waitRecorded waits until the controller has seen each workload.
func waitRecorded(ctx context.Context, t testing.TB, objs ...client.Object) map[client.Object]reloadState {
	t.Helper()
	out := map[client.Object]reloadState{}
	for _, o := range objs {
		eventually(ctx, t, "reload to record "+o.GetName(), func(ctx context.Context) (bool, error) {
			out[o] = stateOf(ctx, t, o)
			return out[o].Observed != "", nil
		})
	}
	return out
}

// waitRestarted waits until each workload's pod-template hash differs from before.
func waitRestarted(ctx context.Context, t testing.TB, before map[client.Object]reloadState, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		eventually(ctx, t, "reload to restart "+o.GetName(), func(ctx context.Context) (bool, error) {
			now := stateOf(ctx, t, o)
			return now.Hash != "" && now.Hash != before[o].Hash, nil
		})
	}
}

// assertUntouched fails for each workload written since before.
func assertUntouched(ctx context.Context, t testing.TB, before map[client.Object]reloadState, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if now := stateOf(ctx, t, o); now.ResourceVersion != before[o].ResourceVersion {
			t.Errorf("%s was written (hash %q -> %q), but no key it uses changed", o.GetName(), before[o].Hash, now.Hash)
		}
	}
}

// setSecretKey changes one key of a plain Secret.
func setSecretKey(ctx context.Context, t testing.TB, ns, name, key, value string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"stringData": map[string]string{key: value}})
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := cluster.Client.Patch(ctx, s, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatalf("changing Secret %s/%s: %v", ns, name, err)
	}
}

// assertNoValues fails when a planted value shows in the namespace's
// Events, the workloads' annotations, or the text given (metrics, logs).
func assertNoValues(ctx context.Context, t *testing.T, ns string, values []string, texts ...string) {
	t.Helper()
	var all strings.Builder
	for _, s := range texts {
		all.WriteString(s + "\n")
	}
	evs, err := cluster.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		all.WriteString(e.Reason + " " + e.Message + "\n")
	}
	for _, l := range []client.ObjectList{&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &appsv1.DaemonSetList{}} {
		if err := cluster.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(l)
		all.WriteString(string(b))
	}
	for _, v := range values {
		for _, f := range leak.In(all.String(), v) {
			t.Errorf("a planted value shows as %s in the reload controller's output", f.Name)
		}
	}
}

// reloadEvents returns the notes of the Reloaded Events about a workload.
func reloadEvents(ctx context.Context, t testing.TB, ns, name string) []string {
	t.Helper()
	evs, err := cluster.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == name && e.Reason == "Reloaded" {
			out = append(out, e.Message)
		}
	}
	sort.Strings(out)
	return out
}

// waitReloadEvent waits for a Reloaded Event about a workload and returns its note.
func waitReloadEvent(ctx context.Context, t testing.TB, ns, name string) string {
	t.Helper()
	var note string
	eventually(ctx, t, "a Reloaded Event for "+name, func(ctx context.Context) (bool, error) {
		evs := reloadEvents(ctx, t, ns, name)
		if len(evs) > 0 {
			note = evs[len(evs)-1]
		}
		return len(evs) > 0, nil
	})
	return note
}

// settle gives the controller time to act on what it was told, before an
// assertion that it did nothing.
func settle() { time.Sleep(1500 * time.Millisecond) }
