package manager

import (
	"context"

	"golang.org/x/time/rate"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/eventrec"
	"github.com/keyward/keyward/internal/keys"
)

// ReloadOptions configure the reload controller.
type ReloadOptions struct {
	// QPS and Burst pace restarts; QPS <= 0 means reload.DefaultQPS and
	// reload.DefaultBurst.
	QPS   float64
	Burst int
}

var (
	deployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	statefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	daemonSets   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	secrets      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// reloadWorkers is the least number of workloads reloaded at once: each
// waits on the API server (a Secret read, a patch), not on the CPU, and the
// rate limit, not the workers, paces restarts.
const reloadWorkers = 32

func setupReload(ctx context.Context, env *Env) error {
	mgr := env.Manager
	rec, err := eventrec.For(mgr, "keyward-reload")
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return err
	}
	m, err := reload.NewMetrics(env.Registry)
	if err != nil {
		return err
	}
	keyNS := env.SealedSecrets.Keys.Namespace
	if keyNS == "" {
		keyNS = keys.DefaultNamespace
	}
	qps, burst := env.Reload.QPS, env.Reload.Burst
	if qps <= 0 {
		qps, burst = reload.DefaultQPS, reload.DefaultBurst
	}
	return (&reload.Reconciler{
		Client: mgr.GetClient(), Kube: env.Kube, Metadata: meta, Recorder: rec, Metrics: m,
		Limiter:      rate.NewLimiter(rate.Limit(qps), max(burst, 1)),
		KeyNamespace: keyNS, Namespaces: env.WatchNamespaces, Workers: max(env.Workers, reloadWorkers),
	}).SetupWithManager(ctx, mgr)
}

// stripWorkload drops what the reload controller never reads of the
// workloads it caches: managedFields, status and kubectl's copy of the
// last applied manifest.
func stripWorkload(o any) (any, error) {
	switch w := o.(type) {
	case *appsv1.Deployment:
		w.ManagedFields, w.Status = nil, appsv1.DeploymentStatus{}
		delete(w.Annotations, lastApplied)
	case *appsv1.StatefulSet:
		w.ManagedFields, w.Status = nil, appsv1.StatefulSetStatus{}
		delete(w.Annotations, lastApplied)
	case *appsv1.DaemonSet:
		w.ManagedFields, w.Status = nil, appsv1.DaemonSetStatus{}
		delete(w.Annotations, lastApplied)
	}
	return o, nil
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
