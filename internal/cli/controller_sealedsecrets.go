package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/logging"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/internal/version"
)

// serviceAccountNamespace is where a Pod learns its namespace when
// POD_NAMESPACE is not set.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// sealedSecretsFlags are Bitnami's controller flags (same names, defaults
// and SEALED_SECRETS_* variables), so its Deployment args carry over.
type sealedSecretsFlags struct {
	namespace, prefix, cn, order, cutoff string
	privateKeyLabels, privateKeyAnnots   string
	keySize                              int
	ttl, renewPeriod                     time.Duration
	acceptV1, updateStatus, skipRecreate bool
	oldGC                                bool
	workers                              int
	listenAddr                           string
	readTimeout, writeTimeout            time.Duration
	rateLimit, peerRateLimit             float64
	rateBurst, peerRateBurst             int
	logLevel, logFormat                  string
	logInfoStdout                        bool
	version                              bool
	// Which SealedSecrets are served.
	allNamespaces                       bool
	additionalNamespaces, labelSelector string
	// Bitnami flags whose behaviour Keyward always has.
	watchForSecrets  bool
	maxUnsealRetries int
}

func (f *sealedSecretsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.namespace, "controller-namespace", "", "namespace of the key Secrets and the leader-election Lease (default $POD_NAMESPACE, then the Pod's, then kube-system)")
	fs.StringVar(&f.prefix, "key-prefix", keys.DefaultKeyPrefix, "name prefix of the key Secrets")
	fs.IntVar(&f.keySize, "key-size", keys.DefaultKeySize, "RSA size of new keys: 2048, 3072 or 4096")
	fs.DurationVar(&f.ttl, "key-ttl", keys.DefaultTTL, "validity of the certificates of new keys")
	fs.StringVar(&f.cn, "my-cn", "", "common name of the certificates of new keys")
	fs.DurationVar(&f.renewPeriod, "key-renew-period", 720*time.Hour, "make a new key this long after the newest (0 turns renewal off; SIGUSR1 renews now)")
	fs.DurationVar(&f.renewPeriod, "rotate-period", 720*time.Hour, "")
	_ = fs.MarkDeprecated("rotate-period", "use --key-renew-period")
	fs.StringVar(&f.cutoff, "key-cutoff-time", "", "make a new key at start if the newest predates this time (RFC 1123 with numeric zone, as `date -R` prints)")
	fs.StringVar(&f.order, "key-order-priority", string(keys.OrderCertNotBefore), "which key is newest: CertNotBefore or SecretCreationTimestamp")
	fs.StringVar(&f.privateKeyLabels, "privatekey-labels", "", "extra labels on new key Secrets (k=v,k=v)")
	fs.StringVar(&f.privateKeyAnnots, "privatekey-annotations", "", "annotations on new key Secrets (k=v,k=v)")
	fs.BoolVar(&f.acceptV1, "accept-deprecated-v1-data", true, "open SealedSecrets in the deprecated spec.data format")
	fs.BoolVar(&f.updateStatus, "update-status", true, "write the Synced condition to SealedSecret status")
	fs.BoolVar(&f.skipRecreate, "skip-recreate", false, "do not make a Secret again when someone deletes it")
	fs.BoolVar(&f.oldGC, "old-gc-behavior", false, "delete the Secret of a deleted SealedSecret here instead of through its owner reference (only a Secret this controller made; needs delete on secrets)")
	// A worker mostly waits on the API server (a create and a status write
	// per SealedSecret); decryption is bounded by GOMAXPROCS whatever the
	// count. 2,000 SealedSecrets on 2 cores: 44 s with 2 workers, 21 s with 16.
	fs.IntVar(&f.workers, "workers", 8*runtime.NumCPU(), "SealedSecrets unsealed at once")
	fs.StringVar(&f.listenAddr, "listen-addr", ":8080", "address of the HTTP API kubeseal uses (0 turns it off)")
	fs.DurationVar(&f.readTimeout, "read-timeout", 2*time.Minute, "longest the HTTP API reads one request (0: no limit)")
	fs.DurationVar(&f.writeTimeout, "write-timeout", 2*time.Minute, "longest the HTTP API takes to answer one request (0: no limit)")
	fs.Float64Var(&f.rateLimit, "rate-limit", 2, "/v1/verify and /v1/rotate requests per second per client (negative: no limit)")
	fs.IntVar(&f.rateBurst, "rate-limit-burst", 2, "/v1/verify and /v1/rotate burst per client")
	fs.Float64Var(&f.peerRateLimit, "peer-rate-limit", 0, "/v1/verify and /v1/rotate requests per second per connecting address, over every client it forwards for (0: ten times --rate-limit; negative: no limit)")
	fs.IntVar(&f.peerRateBurst, "peer-rate-limit-burst", 0, "/v1/verify and /v1/rotate burst per connecting address (0: ten times --rate-limit-burst)")
	fs.StringVar(&f.logLevel, "log-level", "INFO", "INFO, or DEBUG for every detail (values never appear in logs)")
	fs.StringVar(&f.logFormat, "log-format", "json", "json, or text for one line of key=value pairs per record")
	fs.BoolVar(&f.logInfoStdout, "log-info-stdout", true, "write info records to stdout and errors to stderr (false: everything to stderr)")
	fs.BoolVar(&f.version, "version", false, "print the version, as keyward version does, and exit")
	fs.BoolVar(&f.allNamespaces, "all-namespaces", true, "serve SealedSecrets in every namespace (false: only in --controller-namespace and --additional-namespaces)")
	fs.StringVar(&f.additionalNamespaces, "additional-namespaces", "", "serve SealedSecrets only in --controller-namespace and these (a,b,c), whatever --all-namespaces says")
	fs.StringVar(&f.labelSelector, "label-selector", "", "serve only SealedSecrets whose labels match this selector (as kubectl -l takes it)")
	// Accepted so Bitnami's Deployment args carry over; Keyward behaves as
	// the help says whatever their value.
	fs.BoolVar(&f.watchForSecrets, "watch-for-secrets", false, "accepted for compatibility: key Secrets are always watched (added, changed, relabelled, deleted)")
	fs.IntVar(&f.maxUnsealRetries, "max-unseal-retries", 5, "accepted for compatibility: a failed unseal is retried with backoff until it succeeds or the SealedSecret changes")
}

// options turns the flags into the manager's SealedSecret options.
func (f *sealedSecretsFlags) options(getenv func(string) string) (manager.SealedSecretsOptions, error) {
	var o manager.SealedSecretsOptions
	order, err := keys.ParseOrderPriority(f.order)
	if err != nil {
		return o, fmt.Errorf("--key-order-priority: %w", err)
	}
	if f.cutoff != "" {
		if o.Cutoff, err = time.Parse(time.RFC1123Z, f.cutoff); err != nil {
			return o, fmt.Errorf("--key-cutoff-time %q: want RFC 1123 with a numeric zone, as `date -R` prints", f.cutoff)
		}
	}
	switch f.keySize {
	case 2048, 3072, 4096:
	default:
		return o, fmt.Errorf("--key-size %d: must be 2048, 3072 or 4096", f.keySize)
	}
	labels, err := parseKV("--privatekey-labels", f.privateKeyLabels)
	if err != nil {
		return o, err
	}
	annots, err := parseKV("--privatekey-annotations", f.privateKeyAnnots)
	if err != nil {
		return o, err
	}
	ns := controllerNamespace(f.namespace, getenv)
	if o.Namespaces, err = servedNamespaces(ns, f.allNamespaces, f.additionalNamespaces); err != nil {
		return o, err
	}
	if o.LabelSelector, err = parseLabelSelector(f.labelSelector); err != nil {
		return o, err
	}
	o.Keys = keys.RegistryOptions{
		Namespace: ns, Prefix: f.prefix, Order: order,
		KeySize: f.keySize, CN: f.cn, TTL: f.ttl, Labels: labels, Annotations: annots,
	}
	o.RenewPeriod = f.renewPeriod
	o.UpdateStatus, o.AcceptV1Data, o.SkipRecreate = f.updateStatus, f.acceptV1, f.skipRecreate
	o.OldGCBehavior = f.oldGC
	o.Workers = f.workers
	o.ListenAddr, o.RateLimit, o.RateBurst = f.listenAddr, f.rateLimit, f.rateBurst
	o.PeerRateLimit, o.PeerRateBurst = f.peerRateLimit, f.peerRateBurst
	o.ReadTimeout, o.WriteTimeout = f.readTimeout, f.writeTimeout
	o.Revision = version.Get().Commit
	return o, nil
}

// servedNamespaces are the namespaces whose SealedSecrets the controller
// serves; nil means every namespace. As in Bitnami's controller, the own
// namespace alone with --all-namespaces=false, and the own namespace plus
// the additional ones whenever those are given (Bitnami then watches its
// own namespace and starts one more controller per additional namespace,
// whatever --all-namespaces says).
func servedNamespaces(own string, all bool, additional string) ([]string, error) {
	var extra []string
	named := false
	for _, ns := range strings.Split(additional, ",") {
		ns = strings.TrimSpace(ns)
		named = named || ns != ""
		if ns == "" || ns == own || slices.Contains(extra, ns) {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("--additional-namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		extra = append(extra, ns)
	}
	if all && !named {
		return nil, nil
	}
	return append([]string{own}, extra...), nil
}

// parseLabelSelector parses --label-selector; "" selects everything (nil).
func parseLabelSelector(s string) (labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--label-selector %q: %w", s, err)
	}
	return sel, nil
}

// logger is the controller's logger as --log-format, --log-level and
// --log-info-stdout say.
func (f *sealedSecretsFlags) logger(s Streams) (logr.Logger, error) {
	v, err := f.verbosity()
	if err != nil {
		return logr.Logger{}, err
	}
	info := s.Err
	if f.logInfoStdout {
		info = s.Out
	}
	log, err := logging.New(logging.Options{Format: f.logFormat, Verbosity: v, Info: info, Error: s.Err})
	if err != nil {
		return logr.Logger{}, fmt.Errorf("--log-format %q: must be json or text", f.logFormat)
	}
	return log, nil
}

// verbosity maps --log-level to a logr verbosity.
func (f *sealedSecretsFlags) verbosity() (int, error) {
	switch strings.ToUpper(f.logLevel) {
	case "INFO", "":
		return 0, nil
	case "DEBUG":
		return 10, nil
	}
	return 0, fmt.Errorf("--log-level %q: must be INFO or DEBUG", f.logLevel)
}

// controllerNamespace is the flag, else $POD_NAMESPACE, else the Pod's
// ServiceAccount namespace, else kube-system (where Bitnami's manifests
// install the controller).
func controllerNamespace(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if ns := getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return keys.DefaultNamespace
}

// tuneGC collects garbage at half the default heap growth unless GOGC is
// set: the controller's live heap is small and bursty (watch events, API
// responses), so this trims its peak memory by a sixth for no measurable CPU.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// renewOnSignal turns SIGUSR1 into key renewal requests until ctx ends.
func renewOnSignal(ctx context.Context) <-chan struct{} {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
