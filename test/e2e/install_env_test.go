package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
)

// installed is the controllers of an install test, run as that install's
// ServiceAccount, and an admin client for what the test itself does.
type installed struct {
	// reg is the controllers' key registry, once they have one.
	reg *keys.Registry
	// cfg is the ServiceAccount's client configuration; scheme knows
	// Keyward's kinds.
	cfg    *rest.Config
	scheme *runtime.Scheme
	admin  client.Client
}

// deployManifests reads the objects of a file under the repository's
// deploy/ folder, as shipped.
func deployManifests(t *testing.T, path ...string) []*unstructured.Unstructured {
	t.Helper()
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return readManifests(t, filepath.Join(append([]string{root, "deploy"}, path...)...))
}

// applyInstall server-side applies objs as field owner owner.
func applyInstall(ctx context.Context, t *testing.T, objs []*unstructured.Unstructured, owner string) {
	t.Helper()
	for _, o := range objs {
		if err := cluster.Client.Patch(ctx, o.DeepCopy(), client.Apply, client.FieldOwner(owner), client.ForceOwnership); err != nil {
			t.Fatalf("server-side apply of %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// startInstalled runs the controllers with the token of ServiceAccount
// ns/keyward (so exactly the applied RBAC applies), keys and leases in ns,
// for stores of class, until the test ends. watched limits them to those
// namespaces when it is not empty.
func startInstalled(ctx context.Context, t *testing.T, ns, class string, watched []string) *installed {
	t.Helper()
	cfg, err := cluster.ServiceAccountConfig(ctx, ns, "keyward")
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	in := &installed{cfg: cfg}
	mgr, err := manager.New(ctx, manager.Options{
		Config: cfg, MetricsAddr: "0", HealthAddr: "0", Registry: prometheus.NewRegistry(), Workers: 2,
		LeaderElection: true, LeaderElectionNamespace: ns, Class: class,
		WatchNamespaces: watched,
		SealedSecrets: manager.SealedSecretsOptions{
			Keys:         keys.RegistryOptions{Namespace: ns, KeySize: 2048},
			UpdateStatus: true, AcceptV1Data: true, Workers: 2, ListenAddr: "0", Namespaces: watched,
			OnKeys: func(r *keys.Registry) { in.reg = r },
		},
		SkipNameValidation: true,
	})
	if err != nil {
		t.Fatalf("building the controllers as %s/keyward: %v", ns, err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("controllers stopped with: %v", err)
		}
	})
	if in.scheme, err = manager.Scheme(); err != nil {
		t.Fatal(err)
	}
	if in.admin, err = client.New(cluster.Config, client.Options{Scheme: in.scheme}); err != nil {
		t.Fatal(err)
	}
	return in
}
