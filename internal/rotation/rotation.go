// Package rotation drives a rotation from the command line: ask a controller
// to sync or push now (ESO's force-sync annotation), wait for it to finish,
// and tell which workloads use the Secrets that will change. It reads and
// writes API objects only; values never pass through it.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/keyward/keyward/internal/controller/reload"
)

// ForceSyncAnnotation is ESO's: any new value makes the controller sync now.
const ForceSyncAnnotation = "force-sync"

// Kinds the command rotates, each in the versions it may be served as, the
// preferred first (a cluster with ESO's older CRDs serves only v1beta1).
var (
	ExternalSecret = []schema.GroupVersionResource{
		{Group: "external-secrets.io", Version: "v1", Resource: "externalsecrets"},
		{Group: "external-secrets.io", Version: "v1beta1", Resource: "externalsecrets"},
	}
	PushSecret = []schema.GroupVersionResource{
		{Group: "external-secrets.io", Version: "v1alpha1", Resource: "pushsecrets"},
	}
)

// Client reaches the cluster.
type Client struct {
	Dynamic dynamic.Interface
	Kube    kubernetes.Interface
}

// Get reads kind ns/name in the first version the API server serves.
func (c Client) Get(ctx context.Context, kind []schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, schema.GroupVersionResource, error) {
	var last error
	for _, gvr := range kind {
		u, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return u, gvr, nil
		}
		if apierrors.IsNotFound(err) && !isNoKind(err) {
			return nil, gvr, fmt.Errorf("%s %s/%s not found", kindName(gvr), ns, name)
		}
		last = err
	}
	return nil, schema.GroupVersionResource{}, fmt.Errorf("reading %s %s/%s: %w", kindName(kind[0]), ns, name, last)
}

// isNoKind tells "the API server does not serve this version" from "no
// such object": both are 404s, but only the first has no status details
// naming the object.
func isNoKind(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	d := st.Status().Details
	return d == nil || d.Name == ""
}

// ForceSync stamps the force-sync annotation with now, so the controller
// syncs (or pushes) at once, whatever the refresh interval says. It returns
// the object's status.syncedResourceVersion from before: ESO's controllers
// and Keyward's set it to the generation and a hash of labels and
// annotations when a sync succeeds, so it changes once the sync this
// request asked for is done.
func (c Client) ForceSync(ctx context.Context, kind []schema.GroupVersionResource, ns, name string, now time.Time) (string, error) {
	u, gvr, err := c.Get(ctx, kind, ns, name)
	if err != nil {
		return "", err
	}
	before, _, _ := unstructured.NestedString(u.Object, "status", "syncedResourceVersion")
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, ForceSyncAnnotation, now.UTC().Format(time.RFC3339Nano))
	if _, err := c.Dynamic.Resource(gvr).Namespace(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return "", fmt.Errorf("annotating %s %s/%s: %w", kindName(gvr), ns, name, err)
	}
	return before, nil
}

// failGrace is how long a Ready=False is taken as possibly the state from
// before the request: conditions carry one-second times, and the sync the
// request asked for takes a moment to report.
const failGrace = 5 * time.Second

// WaitSynced waits until the object reports a successful sync after the
// request (its syncedResourceVersion moved on from before, Ready=True). A
// Ready=False that lasts failGrace after the request is the sync failing.
func (c Client) WaitSynced(ctx context.Context, kind []schema.GroupVersionResource, ns, name, before string, since time.Time) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		u, gvr, err := c.Get(ctx, kind, ns, name)
		if err != nil {
			return err
		}
		rv, _, _ := unstructured.NestedString(u.Object, "status", "syncedResourceVersion")
		status, reason, message, _ := ready(u)
		failed := fmt.Errorf("%s %s/%s is not Ready: %s: %s", kindName(gvr), ns, name, reason, message)
		switch {
		case rv != before && status == "True":
			return nil
		case status == "False" && time.Since(since) > failGrace:
			return failed
		}
		select {
		case <-ctx.Done():
			if status == "False" {
				return failed
			}
			return fmt.Errorf("waiting for %s %s/%s to sync: %w", kindName(gvr), ns, name, ctx.Err())
		case <-tick.C:
		}
	}
}

// ready reads the Ready condition.
func ready(u *unstructured.Unstructured) (status, reason, message string, changed time.Time) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		status, _ = m["status"].(string)
		reason, _ = m["reason"].(string)
		message, _ = m["message"].(string)
		if s, ok := m["lastTransitionTime"].(string); ok {
			changed, _ = time.Parse(time.RFC3339, s)
		}
	}
	return status, reason, message, changed
}

// TargetSecret is the Secret an ExternalSecret writes: spec.target.name, or
// its own name.
func TargetSecret(es *unstructured.Unstructured) string {
	if n, _, _ := unstructured.NestedString(es.Object, "spec", "target", "name"); n != "" {
		return n
	}
	return es.GetName()
}

// Workload is a Deployment, StatefulSet or DaemonSet that uses a Secret:
// the keys it reads ("*" for the whole Secret: envFrom, or a volume without
// items), and whether its annotations ask the reload controller to restart
// it when they change.
type Workload struct {
	Kind, Namespace, Name string
	Keys                  []string
	Reloads               bool
}

func (w Workload) String() string { return w.Kind + "/" + w.Namespace + "/" + w.Name }

// Consumers lists the workloads in ns whose Pods use Secret secret. It
// applies the reload controller's own rules (package reload), so Reloads
// says exactly what a change would restart.
func (c Client) Consumers(ctx context.Context, ns, secret string) ([]Workload, error) {
	meta := reload.SecretMeta{}
	known := false
	if s, err := c.Kube.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{}); err == nil {
		meta.Match = s.Annotations[reload.ReloaderMatch] == "true"
		meta.Ignore = s.Annotations[reload.ReloaderIgnore] == "true"
		known = true
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, secret, err)
	}
	var out []Workload
	add := func(kind string, m *metav1.ObjectMeta, spec *corev1.PodSpec) {
		uses := reload.SecretUses(spec)
		u, ok := uses[secret]
		if !ok {
			return
		}
		w := Workload{Kind: kind, Namespace: m.Namespace, Name: m.Name, Keys: u.SortedKeys()}
		if u.All {
			w.Keys = []string{"*"}
		}
		sel := reload.Select(reload.ParseSelection(m.Annotations), uses, func(name string) (reload.SecretMeta, bool) {
			if name == secret {
				return meta, known
			}
			return reload.SecretMeta{}, false
		})
		_, w.Reloads = sel[secret]
		out = append(out, w)
	}
	ws, err := c.workloads(ctx, ns)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		add(w.kind, w.meta, w.spec)
	}
	return out, nil
}

// podOwner is a workload's metadata and Pod spec.
type podOwner struct {
	kind string
	meta *metav1.ObjectMeta
	spec *corev1.PodSpec
}

// workloads lists the Deployments, StatefulSets and DaemonSets of ns.
func (c Client) workloads(ctx context.Context, ns string) ([]podOwner, error) {
	var out []podOwner
	apps := c.Kube.AppsV1()
	deps, err := apps.Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Deployments in %s: %w", ns, err)
	}
	for i := range deps.Items {
		out = append(out, podOwner{"Deployment", &deps.Items[i].ObjectMeta, &deps.Items[i].Spec.Template.Spec})
	}
	sts, err := apps.StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing StatefulSets in %s: %w", ns, err)
	}
	for i := range sts.Items {
		out = append(out, podOwner{"StatefulSet", &sts.Items[i].ObjectMeta, &sts.Items[i].Spec.Template.Spec})
	}
	dss, err := apps.DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing DaemonSets in %s: %w", ns, err)
	}
	for i := range dss.Items {
		out = append(out, podOwner{"DaemonSet", &dss.Items[i].ObjectMeta, &dss.Items[i].Spec.Template.Spec})
	}
	return out, nil
}

// Users lists the workloads of ns once and returns, for each Secret they
// use, the names of those workloads (Kind/namespace/name): what a plan
// prints for many Secrets at the cost of three requests, not three each.
func (c Client) Users(ctx context.Context, ns string) (map[string][]string, error) {
	ws, err := c.workloads(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, w := range ws {
		for secret := range reload.SecretUses(w.spec) {
			out[secret] = append(out[secret], Workload{Kind: w.kind, Namespace: w.meta.Namespace, Name: w.meta.Name}.String())
		}
	}
	return out, nil
}

func kindName(gvr schema.GroupVersionResource) string {
	switch gvr.Resource {
	case "externalsecrets":
		return "ExternalSecret"
	case "pushsecrets":
		return "PushSecret"
	}
	return gvr.Resource
}
