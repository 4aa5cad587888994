// Package manager builds the one controller-runtime manager that `keyward
// controller` runs: the scheme, a cache that holds only the Secrets the
// controllers manage, the provider Manager, and the controllers listed in
// Controllers, each of which can be switched off.
package manager

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	esv1beta1 "github.com/keyward/keyward/api/externalsecrets/v1beta1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/provider"
	provideraws "github.com/keyward/keyward/internal/provider/aws"
	providerazure "github.com/keyward/keyward/internal/provider/azure"
	"github.com/keyward/keyward/internal/provider/fake"
	providergcp "github.com/keyward/keyward/internal/provider/gcp"
	providerkube "github.com/keyward/keyward/internal/provider/kubernetes"
	"github.com/keyward/keyward/internal/provider/vault"
	"github.com/keyward/keyward/internal/storeruntime"
	"github.com/keyward/keyward/internal/valueage"
)

// Options configure the manager.
type Options struct {
	// Config connects to the cluster.
	Config *rest.Config
	// MetricsAddr and HealthAddr are listen addresses ("0" turns one off).
	MetricsAddr string
	HealthAddr  string
	// PprofAddr serves Go's profiles (net/http/pprof); "" or "0" is off.
	PprofAddr string
	// LeaderElection, when true, runs the controllers in one replica at a time.
	LeaderElection          bool
	LeaderElectionNamespace string
	// LeaderElectionID names the Lease; "" is keyward-controller.
	LeaderElectionID string
	// DiscoveryInterval is how often the API server is asked again for the
	// kinds not served yet (their CRD missing, or no right to list and
	// watch them); 0 means DefaultDiscoveryInterval.
	DiscoveryInterval time.Duration
	// Enabled says which controllers run, by name; a name missing from the
	// map runs (see Controllers).
	Enabled map[string]bool
	// Class is the controller class (stores' spec.controller) served.
	Class string
	// Workers is the number of objects each controller reconciles at once.
	Workers int
	// Provider tunes the per-store limits and caches.
	Provider storeruntime.Options
	// Registry receives the metrics; tests give each manager its own.
	Registry prometheus.Registerer
	// SealedSecrets configures the SealedSecret controller.
	SealedSecrets SealedSecretsOptions
	// Providers serve the stores; nil means DefaultProviders. Tests swap in
	// providers pointed at wire-level stand-ins.
	Providers []provider.Provider
	// WatchNamespaces, when not empty, limits every controller to these
	// namespaces (--watch-namespaces): the cache holds only their objects,
	// the cluster-scoped ClusterSecretStore and ClusterExternalSecret
	// controllers do not run, and nothing outside them is read or written.
	WatchNamespaces []string
	// SkipNameValidation lets one process run several managers (tests):
	// controller-runtime refuses two controllers of the same name otherwise.
	SkipNameValidation bool
	// Audit runs the audit checks on a schedule (--enable-audit).
	Audit AuditOptions
	// Reload paces the reload controller's restarts.
	Reload ReloadOptions
}

// Env is what a controller's setup gets.
type Env struct {
	Manager   ctrl.Manager
	Providers *storeruntime.Manager
	Registry  prometheus.Registerer
	Class     string
	Workers   int
	// Kube reads and writes what the cache does not serve (Secrets,
	// ServiceAccount tokens) through the core/v1 API alone.
	Kube          corev1client.CoreV1Interface
	SealedSecrets SealedSecretsOptions
	// ValueAges is keyward_secret_value_age_seconds; each controller that
	// writes Secrets adds its cache as a source.
	ValueAges *valueage.Collector
	Reload    ReloadOptions
	// WatchNamespaces are Options.WatchNamespaces.
	WatchNamespaces []string
}

// Controller is one controller the manager can run.
type Controller struct {
	// Name is the controller's name, as the --controllers flag spells it.
	Name string
	// Help says what it does, for the flag's help text.
	Help string
	// Kind is what it serves, as the log and keyward_controller_kind_served
	// name it.
	Kind string
	// Needs are the API resources it lists and watches: it starts once the
	// API server serves them all and the controller may list and watch them.
	Needs []schema.GroupVersionResource
	// ClusterScoped controllers need cluster-wide rights and do not run
	// when the controller is limited to namespaces.
	ClusterScoped bool
	Setup         func(ctx context.Context, env *Env) error
}

// Scheme returns a scheme with the Kubernetes types and ours.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, esv1.AddToScheme, esv1beta1.AddToScheme, esv1alpha1.AddToScheme, ssv1.AddToScheme, genv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// New builds the manager with the enabled controllers. Start it with Start.
func New(ctx context.Context, opts Options) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	managed := labels.SelectorFromSet(labels.Set{esv1.LabelManaged: esv1.LabelManagedValue})
	watch := watchSet(opts.WatchNamespaces)
	var defaultNamespaces map[string]cache.Config
	newClient := client.New
	if !watch.all() {
		defaultNamespaces = map[string]cache.Config{}
		for _, ns := range watch {
			defaultNamespaces[ns] = cache.Config{}
		}
		newClient = func(cfg *rest.Config, o client.Options) (client.Client, error) {
			c, err := client.New(cfg, o)
			if err != nil {
				return nil, err
			}
			return scopedClient{Client: c, watch: watch}, nil
		}
	}
	mgr, err := ctrl.NewManager(opts.Config, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        cmp.Or(opts.LeaderElectionID, "keyward-controller"),
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		// A replica that stops hands over at once instead of after the
		// lease runs out, so a restart or rollout does not stall.
		LeaderElectionReleaseOnCancel: true,
		NewClient:                     newClient,
		Cache: cache.Options{
			DefaultNamespaces: defaultNamespaces,
			ByObject: map[client.Object]cache.ByObject{
				// Never an informer over every Secret: only those we manage.
				&corev1.Secret{}: {Label: managed},
			},
			// managedFields of ExternalSecrets are never read; with
			// thousands of them they are a good part of the cache. Not a
			// ByObject entry: that maps the kind when the manager is
			// built, and its CRD may not be installed. The reload
			// controller's workloads lose what it does not read too.
			DefaultTransform: stripUnread,
		},
		Client: client.Options{Cache: &client.CacheOptions{
			// Template ConfigMaps are read when used, not cached.
			DisableFor: []client.Object{&corev1.ConfigMap{}},
		}},
		GracefulShutdownTimeout: ptr(10 * time.Second),
		Controller:              config.Controller{SkipNameValidation: ptr(opts.SkipNameValidation)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if opts.HealthAddr != "" && opts.HealthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
	}
	cs, err := corev1client.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("creating a core/v1 client: %w", err)
	}
	providers := opts.Providers
	if providers == nil {
		providers = DefaultProviders(opts.Config)
	}
	// A namespaced install cannot be talked into reading elsewhere by a
	// store: credential refs, tokens and local remote namespaces are checked.
	kube := scopeKube(storeruntime.NewKube(mgr.GetAPIReader(), cs), watch)
	if opts.Provider.AllowControllerIdentityInNamespacedStores {
		// Said once at start, so that an audit of the logs finds it.
		ctrl.Log.WithName("setup").Info("namespaced SecretStores naming no credentials act with the controller's own identity " +
			"(--namespaced-stores-may-use-controller-identity); every namespace user can reach what the controller can")
	}
	ages := valueage.New()
	if err := registerer(opts.Registry).Register(ages); err != nil {
		return nil, fmt.Errorf("registering keyward_secret_value_age_seconds: %w", err)
	}
	env := &Env{
		Manager:   mgr,
		ValueAges: ages,
		Providers: storeruntime.NewManager(kube, storeruntime.NewMetrics(opts.Registry), opts.Provider,
			scopeProviders(providers, watch)...),
		Registry:        opts.Registry,
		Class:           opts.Class,
		Workers:         opts.Workers,
		Kube:            cs,
		SealedSecrets:   opts.SealedSecrets,
		Reload:          opts.Reload,
		WatchNamespaces: opts.WatchNamespaces,
	}
	kinds, err := newKinds(opts, mgr, func(ctx context.Context, c Controller) error { return c.Setup(ctx, env) })
	if err != nil {
		return nil, err
	}
	for _, c := range Controllers() {
		switch on, set := opts.Enabled[c.Name]; {
		case set && !on:
			kinds.off(c, "its controller is switched off (--enable-"+c.Name+"=false)")
		case c.ClusterScoped && !watch.all():
			kinds.off(c, "cluster-scoped, and the controller is limited to namespaces "+strings.Join(opts.WatchNamespaces, ","))
		default:
			kinds.add(c)
		}
	}
	// What can be served now is set up before the manager starts, as a
	// start-up error stops it; the rest is checked again while it runs.
	if err := kinds.check(ctx, true); err != nil {
		return nil, err
	}
	if err := mgr.Add(kinds); err != nil {
		return nil, err
	}
	if opts.Audit.Enabled {
		if err := addAudit(mgr, opts); err != nil {
			return nil, err
		}
	}
	return mgr, nil
}

func stripUnread(o any) (any, error) {
	if es, ok := o.(*esv1.ExternalSecret); ok {
		es.SetManagedFields(nil)
	}
	return stripWorkload(o)
}

// newKinds builds the kind server from the manager's connection: discovery
// and access reviews are plain API calls, never cached.
func newKinds(opts Options, mgr ctrl.Manager, setup func(context.Context, Controller) error) (*kindServer, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("creating a discovery client: %w", err)
	}
	az, err := authorizationv1client.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("creating an authorization client: %w", err)
	}
	return newKindServer(dc, az.SelfSubjectAccessReviews(), opts.WatchNamespaces, opts.Registry,
		mgr.GetLogger().WithName("kinds"), opts.DiscoveryInterval, setup)
}

// DefaultProviders are the stores `keyward controller` serves, wired
// explicitly: nothing registers itself.
func DefaultProviders(cfg *rest.Config) []provider.Provider {
	return []provider.Provider{
		providerkube.New(cfg),
		fake.New(),
		vault.New(),
		provideraws.New(),
		providergcp.New(),
		providerazure.New(),
	}
}

func ptr[T any](v T) *T { return &v }
