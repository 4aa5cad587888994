package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/keyward/keyward/internal/audit/access"
	"github.com/keyward/keyward/internal/controller/reload"
	"github.com/keyward/keyward/internal/manager"
)

func newControllerCommand(s Streams, getenv func(string) string) *cobra.Command {
	var (
		kubeconfig string
		opts       manager.Options
		qps        float32
		burst      int
		enabled    = map[string]*bool{}
		trimBinary bool // removed; kept only to refuse it by name
		sealed     sealedSecretsFlags
		eso        esoFlags
		watch      watchFlags
		auditAllow []string
	)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the in-cluster controllers (SealedSecret, ExternalSecret, SecretStore, ClusterExternalSecret, PushSecret, reload)",
		Long: `Run Keyward's controllers in one manager. Each can be switched off with
--enable-<name>=false. Only Secrets the controllers label as theirs are cached, so
memory does not grow with the number of Secrets in the cluster; the reload
controller keeps only each Secret's name and resourceVersion (never its data),
and reads a Secret when a workload that asked for reloads uses it.

The SealedSecret controller takes Bitnami's flags and SEALED_SECRETS_<FLAG>
variables (every flag here can be set that way; the command line wins), serves
the kubeseal HTTP API on --listen-addr and metrics on --listen-metrics-addr.
SIGUSR1 makes a new sealing key.`,
		Args: cobra.NoArgs,
		RunE: withEnv(getenv, func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed(removedTrimFlag) {
				return errTrimRemoved
			}
			if sealed.version {
				printVersion(s.Out)
				return nil
			}
			if err := eso.check(cmd.Flags(), &sealed); err != nil {
				return err
			}
			tuneGC(getenv)
			log, err := sealed.logger(s)
			if err != nil {
				return err
			}
			if opts.SealedSecrets, err = sealed.options(getenv); err != nil {
				return err
			}
			if opts.WatchNamespaces, err = watch.namespaces(opts.SealedSecrets.Namespaces); err != nil {
				return err
			}
			if len(opts.WatchNamespaces) > 0 {
				opts.SealedSecrets.Namespaces = opts.WatchNamespaces
			}
			if opts.LeaderElectionNamespace == "" {
				opts.LeaderElectionNamespace = opts.SealedSecrets.Keys.Namespace
			}
			ctrl.SetLogger(log)
			cfg, err := controllerRESTConfig(kubeconfig, getenv)
			if err != nil {
				return err
			}
			cfg.QPS, cfg.Burst = qps, burst
			opts.Config = cfg
			opts.Registry = ctrlmetrics.Registry
			for _, a := range auditAllow {
				sub, err := access.ParseSubject(a)
				if err != nil {
					return fmt.Errorf("--audit-allow: %w", err)
				}
				opts.Audit.Allowed = append(opts.Audit.Allowed, sub)
			}
			opts.Enabled = map[string]bool{}
			for name, on := range enabled {
				opts.Enabled[name] = *on
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts.SealedSecrets.RenewNow = renewOnSignal(ctx)
			mgr, err := manager.New(ctx, opts)
			if err != nil {
				return err
			}
			return mgr.Start(ctx)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then the in-cluster ServiceAccount)")
	// Bitnami's layout: the HTTP API on :8080 (--listen-addr), metrics on :8081.
	f.StringVar(&opts.MetricsAddr, "listen-metrics-addr", ":8081", "address of the Prometheus /metrics endpoint (0 turns it off)")
	f.StringVar(&opts.MetricsAddr, "metrics-addr", ":8081", "")
	_ = f.MarkDeprecated("metrics-addr", "use --listen-metrics-addr")
	f.StringVar(&opts.HealthAddr, "health-addr", ":8082", "address of /healthz and /readyz (0 turns them off)")
	f.StringVar(&opts.PprofAddr, "pprof-addr", "0", "address of Go's profiling endpoints, /debug/pprof/ (0 turns them off; never expose it outside the Pod)")
	f.BoolVar(&trimBinary, removedTrimFlag, false, "")
	_ = f.MarkHidden(removedTrimFlag)
	f.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect a leader, so only one of several replicas reconciles")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: --controller-namespace)")
	f.StringVar(&opts.Class, "controller-class", "", "serve only stores whose spec.controller is this class")
	f.IntVar(&opts.Workers, "concurrent", 10, "objects each controller reconciles at once")
	// Bitnami's 5/10 make 2,000 SealedSecrets take twenty minutes; unsealing
	// them in 15 s takes about 270 requests a second. The API server's
	// priority and fairness protects it, not a client-side cap.
	f.Float32Var(&qps, "kubeclient-qps", 500, "requests per second to the Kubernetes API")
	f.IntVar(&burst, "kubeclient-burst", 1000, "burst of requests to the Kubernetes API")
	f.Float32Var(&qps, "kube-api-qps", 500, "same as --kubeclient-qps")
	f.IntVar(&burst, "kube-api-burst", 1000, "same as --kubeclient-burst")
	f.Float64Var(&opts.Provider.QPS, "store-qps", 50, "calls per second to each secret store")
	f.IntVar(&opts.Provider.Burst, "store-burst", 100, "burst of calls to each secret store")
	f.IntVar(&opts.Provider.MaxConcurrent, "store-max-concurrent", 10, "calls in flight to each secret store")
	f.DurationVar(&opts.Provider.ValueCacheMaxAge, "store-value-cache", 5*time.Minute,
		"longest a value read from a store is reused for other ExternalSecrets (each also asks for at most half its refreshInterval; negative turns the cache off)")
	f.BoolVar(&opts.Provider.AllowControllerIdentityInNamespacedStores, "namespaced-stores-may-use-controller-identity", false,
		"let a namespaced SecretStore that names no credentials act with the controller's own identity (its Kubernetes ServiceAccount, "+
			"Vault Kubernetes login, cloud default credentials or managed identity), as ESO does; only for clusters where every namespace user is trusted "+
			"(ClusterSecretStores may always do so)")
	f.DurationVar(&opts.DiscoveryInterval, "discovery-interval", manager.DefaultDiscoveryInterval,
		"how often to look again for the kinds not served yet (CRD not installed, or no right to list and watch them), to serve them once they are")
	f.BoolVar(&opts.Audit.Enabled, "enable-audit", false, "run the audit checks that need no etcd access (access, age, reuse, exposure) every --audit-interval; "+
		"findings become keyward_audit_findings{check,severity} and Events (needs deploy/components/audit's RBAC)")
	f.DurationVar(&opts.Audit.Interval, "audit-interval", manager.DefaultAuditInterval, "time between audit runs")
	f.DurationVar(&opts.Audit.MaxAge, "audit-max-age", 90*24*time.Hour, "the age check's limit: a Secret value unchanged for longer is a finding")
	f.StringArrayVar(&auditAllow, "audit-allow", nil, "an expected reader of Secrets, as 'keyward audit access --allow' takes it (repeatable)")
	f.Float64Var(&opts.Reload.QPS, "reload-qps", reload.DefaultQPS, "workload restarts per second by the reload controller (0: the default)")
	f.IntVar(&opts.Reload.Burst, "reload-burst", reload.DefaultBurst, "burst of workload restarts by the reload controller")
	sealed.register(f)
	watch.register(f)
	for _, c := range manager.Controllers() {
		enabled[c.Name] = f.Bool("enable-"+c.Name, true, "run the "+c.Name+" controller ("+c.Help+")")
	}
	eso.register(f, &qps, &burst, &opts.LeaderElection, &opts.LeaderElectionID, &opts.HealthAddr, enabled)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if strings.HasPrefix(err.Error(), "unknown flag") {
			return fmt.Errorf("%w (keyward controller takes Bitnami's and the External Secrets Operator's flags that map onto its own; see keyward controller --help)", err)
		}
		return err
	})
	return cmd
}

// removedTrimFlag named page release, which is gone: it dropped clean
// pages the kernel reclaims anyway, and crashed PIE builds at start. A
// setting that no longer does anything is refused rather than ignored, so
// nobody goes on believing it lowers memory.
const removedTrimFlag = "trim-binary-pages"

var errTrimRemoved = errors.New("--" + removedTrimFlag + " (or SEALED_SECRETS_TRIM_BINARY_PAGES) was removed: " +
	"the controller no longer releases its binary's pages, which the kernel reclaims by itself; remove the setting")

// controllerRESTConfig loads --kubeconfig, else $KUBECONFIG, else the in-cluster config.
func controllerRESTConfig(path string, getenv func(string) string) (*rest.Config, error) {
	if path == "" {
		path = getenv("KUBECONFIG")
	}
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig, no $KUBECONFIG, and not in a cluster: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}
