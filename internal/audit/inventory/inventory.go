// Package inventory lists what the audit checks read from a cluster, page by
// page, once per run. A check says what it needs; nothing else is fetched,
// and Secrets are read as names only unless a check needs their values.
package inventory

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// Need names the kinds a check reads.
type Need uint32

const (
	RBAC            Need = 1 << iota // ClusterRoles, Roles and their bindings
	ServiceAccounts                  // ServiceAccounts
	Pods                             // Pods
	SecretNames                      // Secrets' metadata only
	SecretValues                     // whole Secrets, values included
	ConfigMaps                       // ConfigMaps
	Events                           // core/v1 Events
	NetworkPolicies                  // NetworkPolicies
	Workloads                        // Deployments, StatefulSets, DaemonSets
	// SecretHistory keeps Secrets' managedFields (when each writer last
	// wrote), which only the age check reads. Every other object's
	// managedFields are dropped as pages arrive: at cluster scale they
	// are a good part of what a listing holds.
	SecretHistory
)

// lastApplied is kubectl's copy of what it applied: on a Secret applied
// from a manifest it holds the values, and nothing reading names needs it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Snapshot is what was listed. Slices are nil for kinds not asked for.
type Snapshot struct {
	ClusterRoles        []rbacv1.ClusterRole
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	RoleBindings        []rbacv1.RoleBinding
	ServiceAccounts     []corev1.ServiceAccount
	Pods                []corev1.Pod
	// SecretMeta holds every listed Secret's metadata (with SecretValues,
	// the same Secrets as Secrets).
	SecretMeta      []metav1.ObjectMeta
	Secrets         []corev1.Secret
	ConfigMaps      []corev1.ConfigMap
	Events          []corev1.Event
	NetworkPolicies []networkingv1.NetworkPolicy
	Deployments     []appsv1.Deployment
	StatefulSets    []appsv1.StatefulSet
	DaemonSets      []appsv1.DaemonSet
}

// SecretNamesByNamespace maps each namespace to its Secrets' names.
func (s *Snapshot) SecretNamesByNamespace() map[string][]string {
	out := map[string][]string{}
	for i := range s.SecretMeta {
		m := &s.SecretMeta[i]
		out[m.Namespace] = append(out[m.Namespace], m.Name)
	}
	return out
}

// Options say where to look.
type Options struct {
	// Namespace limits namespaced kinds to one namespace; "" is all.
	// Cluster-scoped RBAC is always read whole.
	Namespace string
	// PageSize is the number of objects asked for per request (500 if 0).
	PageSize int64
	// Progress, when set, hears how many objects each kind has so far.
	Progress func(kind string, n int)

	keepManagedFields bool
}

// Loader lists from one cluster.
type Loader struct {
	cs   kubernetes.Interface
	meta metadata.Interface
}

// NewLoader connects to the cluster cfg points at.
func NewLoader(cfg *rest.Config) (*Loader, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes metadata client: %w", err)
	}
	return &Loader{cs: cs, meta: meta}, nil
}

// Clientset is the loader's client, for checks that write (--fix).
func (l *Loader) Clientset() kubernetes.Interface { return l.cs }

// Load lists every kind in need.
func (l *Loader) Load(ctx context.Context, need Need, o Options) (*Snapshot, error) {
	if o.PageSize == 0 {
		o.PageSize = 500
	}
	s := &Snapshot{}
	ns := o.Namespace
	o.keepManagedFields = need&SecretHistory != 0
	var err error
	step := func(kind string, f func() error) {
		if err != nil {
			return
		}
		if e := f(); e != nil {
			err = listError(kind, ns, e)
		}
	}
	if need&RBAC != 0 {
		rbac := l.cs.RbacV1()
		step("clusterroles", func() error {
			s.ClusterRoles, err = pages(ctx, o, "clusterroles", func(opts metav1.ListOptions) ([]rbacv1.ClusterRole, string, error) {
				r, e := rbac.ClusterRoles().List(ctx, opts)
				return items(r, e, func() ([]rbacv1.ClusterRole, string) { return r.Items, r.Continue })
			})
			return err
		})
		step("clusterrolebindings", func() error {
			s.ClusterRoleBindings, err = pages(ctx, o, "clusterrolebindings", func(opts metav1.ListOptions) ([]rbacv1.ClusterRoleBinding, string, error) {
				r, e := rbac.ClusterRoleBindings().List(ctx, opts)
				return items(r, e, func() ([]rbacv1.ClusterRoleBinding, string) { return r.Items, r.Continue })
			})
			return err
		})
		step("roles", func() error {
			s.Roles, err = pages(ctx, o, "roles", func(opts metav1.ListOptions) ([]rbacv1.Role, string, error) {
				r, e := rbac.Roles(ns).List(ctx, opts)
				return items(r, e, func() ([]rbacv1.Role, string) { return r.Items, r.Continue })
			})
			return err
		})
		step("rolebindings", func() error {
			s.RoleBindings, err = pages(ctx, o, "rolebindings", func(opts metav1.ListOptions) ([]rbacv1.RoleBinding, string, error) {
				r, e := rbac.RoleBindings(ns).List(ctx, opts)
				return items(r, e, func() ([]rbacv1.RoleBinding, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	core := l.cs.CoreV1()
	if need&ServiceAccounts != 0 {
		step("serviceaccounts", func() error {
			s.ServiceAccounts, err = pages(ctx, o, "serviceaccounts", func(opts metav1.ListOptions) ([]corev1.ServiceAccount, string, error) {
				r, e := core.ServiceAccounts(ns).List(ctx, opts)
				return items(r, e, func() ([]corev1.ServiceAccount, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	if need&Pods != 0 {
		step("pods", func() error {
			s.Pods, err = pages(ctx, o, "pods", func(opts metav1.ListOptions) ([]corev1.Pod, string, error) {
				r, e := core.Pods(ns).List(ctx, opts)
				return items(r, e, func() ([]corev1.Pod, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	if need&SecretValues != 0 {
		step("secrets", func() error {
			s.Secrets, err = pages(ctx, o, "secrets", func(opts metav1.ListOptions) ([]corev1.Secret, string, error) {
				r, e := core.Secrets(ns).List(ctx, opts)
				return items(r, e, func() ([]corev1.Secret, string) { return r.Items, r.Continue })
			})
			return err
		})
		if err == nil {
			s.SecretMeta = make([]metav1.ObjectMeta, len(s.Secrets))
			for i := range s.Secrets {
				s.SecretMeta[i] = s.Secrets[i].ObjectMeta
			}
		}
	} else if need&SecretNames != 0 {
		// Names only: the values never reach this process.
		res := l.meta.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"})
		step("secrets", func() error {
			s.SecretMeta, err = pages(ctx, o, "secrets", func(opts metav1.ListOptions) ([]metav1.ObjectMeta, string, error) {
				r, e := res.Namespace(ns).List(ctx, opts)
				return items(r, e, func() ([]metav1.ObjectMeta, string) {
					out := make([]metav1.ObjectMeta, len(r.Items))
					for i := range r.Items {
						out[i] = r.Items[i].ObjectMeta
						delete(out[i].Annotations, lastApplied)
					}
					return out, r.Continue
				})
			})
			return err
		})
	}
	if need&ConfigMaps != 0 {
		step("configmaps", func() error {
			s.ConfigMaps, err = pages(ctx, o, "configmaps", func(opts metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
				r, e := core.ConfigMaps(ns).List(ctx, opts)
				return items(r, e, func() ([]corev1.ConfigMap, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	if need&Events != 0 {
		step("events", func() error {
			s.Events, err = pages(ctx, o, "events", func(opts metav1.ListOptions) ([]corev1.Event, string, error) {
				r, e := core.Events(ns).List(ctx, opts)
				return items(r, e, func() ([]corev1.Event, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	if need&NetworkPolicies != 0 {
		step("networkpolicies", func() error {
			s.NetworkPolicies, err = pages(ctx, o, "networkpolicies", func(opts metav1.ListOptions) ([]networkingv1.NetworkPolicy, string, error) {
				r, e := l.cs.NetworkingV1().NetworkPolicies(ns).List(ctx, opts)
				return items(r, e, func() ([]networkingv1.NetworkPolicy, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	if need&Workloads != 0 {
		apps := l.cs.AppsV1()
		step("deployments", func() error {
			s.Deployments, err = pages(ctx, o, "deployments", func(opts metav1.ListOptions) ([]appsv1.Deployment, string, error) {
				r, e := apps.Deployments(ns).List(ctx, opts)
				return items(r, e, func() ([]appsv1.Deployment, string) { return r.Items, r.Continue })
			})
			return err
		})
		step("statefulsets", func() error {
			s.StatefulSets, err = pages(ctx, o, "statefulsets", func(opts metav1.ListOptions) ([]appsv1.StatefulSet, string, error) {
				r, e := apps.StatefulSets(ns).List(ctx, opts)
				return items(r, e, func() ([]appsv1.StatefulSet, string) { return r.Items, r.Continue })
			})
			return err
		})
		step("daemonsets", func() error {
			s.DaemonSets, err = pages(ctx, o, "daemonsets", func(opts metav1.ListOptions) ([]appsv1.DaemonSet, string, error) {
				r, e := apps.DaemonSets(ns).List(ctx, opts)
				return items(r, e, func() ([]appsv1.DaemonSet, string) { return r.Items, r.Continue })
			})
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// items unpacks one List reply; get is only called when the call succeeded.
func items[T any, R any](r R, err error, get func() ([]T, string)) ([]T, string, error) {
	if err != nil {
		return nil, "", err
	}
	t, cont := get()
	return t, cont, nil
}

// pages follows continue tokens until the list is whole, dropping each
// object's managedFields unless o.keepManagedFields (Secrets for the age
// check).
func pages[T any](ctx context.Context, o Options, kind string, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var all []T
	opts := metav1.ListOptions{Limit: o.PageSize}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, cont, err := list(opts)
		if err != nil {
			return nil, err
		}
		if !(o.keepManagedFields && kind == "secrets") {
			for i := range page {
				if m, ok := any(&page[i]).(metav1.Object); ok {
					m.SetManagedFields(nil)
				}
			}
		}
		all = append(all, page...)
		if o.Progress != nil {
			o.Progress(kind, len(all))
		}
		if cont == "" {
			return all, nil
		}
		opts.Continue = cont
	}
}

// listError says which list failed and, for refusals, what right is missing.
func listError(kind, ns string, err error) error {
	where := "in all namespaces"
	if ns != "" {
		where = "in namespace " + ns
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("listing %s %s: forbidden: the kubeconfig's user needs list on %s (%w)", kind, where, kind, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("listing %s: the API server did not accept the kubeconfig's credentials: %w", kind, err)
	}
	return fmt.Errorf("listing %s %s: %w", kind, where, err)
}
