package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// ErrOutsideWatched is returned (wrapped) when a namespaced install is asked
// to read or write something outside the namespaces it watches.
var ErrOutsideWatched = errors.New("outside the watched namespaces (--watch-namespaces)")

// watchSet is the namespaces a namespaced install serves; empty means every
// namespace and allows everything.
type watchSet []string

func (w watchSet) all() bool { return len(w) == 0 }

func (w watchSet) allows(ns string) bool { return w.all() || slices.Contains(w, ns) }

// refuse is the error for touching what of namespace ns.
func (w watchSet) refuse(what, ns string) error {
	if ns == "" {
		return fmt.Errorf("%s across all namespaces: %w (%s)", what, ErrOutsideWatched, strings.Join(w, ", "))
	}
	return fmt.Errorf("%s in namespace %s: %w (%s)", what, ns, ErrOutsideWatched, strings.Join(w, ", "))
}

// scopedKube keeps what providers read through provider.Kube (credential
// Secrets, CA ConfigMaps, ServiceAccounts and their tokens) inside the
// watched namespaces. Cluster-scoped reads (a namespace's labels) pass.
type scopedKube struct {
	inner provider.Kube
	watch watchSet
}

func (k scopedKube) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if key.Namespace != "" && !k.watch.allows(key.Namespace) {
		return k.watch.refuse(fmt.Sprintf("reading %s %s", kindOf(obj), key.Name), key.Namespace)
	}
	return k.inner.Get(ctx, key, obj, opts...)
}

func (k scopedKube) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	if !k.watch.allows(lo.Namespace) || lo.Namespace == "" {
		return k.watch.refuse("listing "+kindOf(list), lo.Namespace)
	}
	return k.inner.List(ctx, list, opts...)
}

func (k scopedKube) ServiceAccountToken(ctx context.Context, sa types.NamespacedName, audiences []string, expiry time.Duration) (string, time.Time, error) {
	if !k.watch.allows(sa.Namespace) {
		return "", time.Time{}, k.watch.refuse("requesting a token for ServiceAccount "+sa.Name, sa.Namespace)
	}
	return k.inner.ServiceAccountToken(ctx, sa, audiences, expiry)
}

// scopeKube wraps kube when the install is namespaced.
func scopeKube(kube provider.Kube, watch watchSet) provider.Kube {
	if watch.all() {
		return kube
	}
	return scopedKube{inner: kube, watch: watch}
}

// scopedLocalCluster guards the kubernetes provider: a store without
// server.url or authRef talks to this cluster, possibly as the controller
// itself, so its remoteNamespace must be a watched one.
type scopedLocalCluster struct {
	provider.Provider
	watch watchSet
}

func (p scopedLocalCluster) NewClient(ctx context.Context, store esv1.GenericStore, kube provider.Kube, namespace string) (provider.Client, error) {
	if k := store.GetSpec().Provider.Kubernetes; k != nil && k.Server.URL == "" && k.AuthRef == nil {
		remote := k.RemoteNamespace
		if remote == "" {
			remote = "default" // the provider's default
		}
		if !p.watch.allows(remote) {
			return nil, fmt.Errorf("spec.provider.kubernetes.remoteNamespace: %w",
				p.watch.refuse("Secrets of this cluster", remote))
		}
	}
	return p.Provider.NewClient(ctx, store, kube, namespace)
}

// scopeProviders wraps the kubernetes provider when the install is namespaced.
func scopeProviders(ps []provider.Provider, watch watchSet) []provider.Provider {
	if watch.all() {
		return ps
	}
	out := make([]provider.Provider, len(ps))
	for i, p := range ps {
		if p.Name() == "kubernetes" {
			p = scopedLocalCluster{Provider: p, watch: watch}
		}
		out[i] = p
	}
	return out
}

// scopedClient is the controllers' client in a namespaced install: nothing
// outside the watched namespaces is read or written, and the cluster-scoped
// store kinds (which need cluster-wide rights) are refused with a clear
// error instead of an informer that can never start.
type scopedClient struct {
	client.Client
	watch watchSet
}

func (c scopedClient) check(verb string, obj any, ns string) error {
	switch obj.(type) {
	case *esv1.ClusterSecretStore, *esv1.ClusterSecretStoreList, *esv1.ClusterExternalSecret, *esv1.ClusterExternalSecretList:
		return fmt.Errorf("%s %s: cluster-scoped stores and ExternalSecrets are not served when the controller is limited to namespaces (%s; --watch-namespaces)",
			verb, kindOf(obj), strings.Join(c.watch, ", "))
	}
	if ns != "" && !c.watch.allows(ns) {
		return c.watch.refuse(verb+" "+kindOf(obj), ns)
	}
	return nil
}

func (c scopedClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.check("reading", obj, key.Namespace); err != nil {
		return err
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c scopedClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	if err := c.check("listing", list, lo.Namespace); err != nil {
		return err
	}
	return c.Client.List(ctx, list, opts...)
}

func (c scopedClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := c.check("creating", obj, obj.GetNamespace()); err != nil {
		return err
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c scopedClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := c.check("updating", obj, obj.GetNamespace()); err != nil {
		return err
	}
	return c.Client.Update(ctx, obj, opts...)
}

func (c scopedClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if err := c.check("patching", obj, obj.GetNamespace()); err != nil {
		return err
	}
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c scopedClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if err := c.check("deleting", obj, obj.GetNamespace()); err != nil {
		return err
	}
	return c.Client.Delete(ctx, obj, opts...)
}

func (c scopedClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	o := (&client.DeleteAllOfOptions{}).ApplyOptions(opts)
	if err := c.check("deleting", obj, o.Namespace); err != nil {
		return err
	}
	if o.Namespace == "" {
		return c.watch.refuse("deleting "+kindOf(obj), "")
	}
	return c.Client.DeleteAllOf(ctx, obj, opts...)
}

// kindOf names an object's Go type for an error ("Secret", "SecretList").
func kindOf(obj any) string {
	s := fmt.Sprintf("%T", obj)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
