package manager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/keyward/keyward/internal/controller/sealedsecret"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/valueage"
)

// SealedSecretsOptions configure the SealedSecret controller, its keys and
// the kubeseal HTTP API. Zero values take Bitnami's defaults where noted.
type SealedSecretsOptions struct {
	// Keys says where key Secrets live and how new ones are made.
	Keys keys.RegistryOptions
	// RenewPeriod (--key-renew-period; 0 turns renewal off), Cutoff
	// (--key-cutoff-time) and RenewNow (SIGUSR1) drive key renewal.
	RenewPeriod time.Duration
	Cutoff      time.Time
	RenewNow    <-chan struct{}

	UpdateStatus bool
	AcceptV1Data bool
	SkipRecreate bool
	// OldGCBehavior deletes the Secret of a deleted SealedSecret, if the
	// controller made it, instead of leaving it to the garbage collector.
	OldGCBehavior bool
	// Workers is the number of SealedSecrets unsealed at once.
	Workers int
	// Namespaces are the namespaces whose SealedSecrets are served; empty
	// means every namespace (--all-namespaces, --additional-namespaces).
	Namespaces []string
	// LabelSelector, when not nil, serves only the SealedSecrets it
	// matches (--label-selector).
	LabelSelector labels.Selector

	// ListenAddr serves the HTTP API (--listen-addr); "" or "0" turns it off.
	ListenAddr string
	// ReadTimeout and WriteTimeout bound each request to the HTTP API
	// (--read-timeout, --write-timeout; Bitnami's default is 2m). Zero or
	// less means no limit, as in net/http.
	ReadTimeout, WriteTimeout time.Duration
	// RateLimit and RateBurst limit /v1/verify and /v1/rotate per client;
	// PeerRateLimit and PeerRateBurst per connecting address over all the
	// clients it forwards for (see httpapi.Options).
	RateLimit, PeerRateLimit float64
	RateBurst, PeerRateBurst int
	// Revision labels sealed_secrets_controller_build_info.
	Revision string

	// OnKeys, when set, receives the key registry (for tests and tools
	// that want to look at the keys the controller holds).
	OnKeys func(*keys.Registry)
}

// setupSealedSecrets wires the key registry (every replica), key renewal
// (the leader), the SealedSecret controller and the HTTP API.
func setupSealedSecrets(_ context.Context, env *Env) error {
	o := env.SealedSecrets
	mgr := env.Manager
	kopts := o.Keys
	kopts.Log = mgr.GetLogger().WithName("keys")
	reg := keys.NewRegistry(env.Kube, kopts)
	if o.OnKeys != nil {
		o.OnKeys(reg)
	}
	if err := mgr.Add(reg); err != nil {
		return err
	}
	// A replica is Ready when it can seal and unseal: a Service sends
	// kubeseal to Ready Pods only, and a rollout replaces a Pod only when
	// its successor is Ready.
	if err := mgr.AddReadyzCheck("sealing-key", func(*http.Request) error {
		if _, ok := reg.Current(); !ok {
			return errors.New("no sealing key loaded yet")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := mgr.Add(&keys.Renewer{Registry: reg, Period: o.RenewPeriod, Cutoff: o.Cutoff, Trigger: o.RenewNow,
		Log: mgr.GetLogger().WithName("keys")}); err != nil {
		return err
	}
	metrics, err := sealedsecret.NewMetrics(registerer(env.Registry), o.Revision)
	if err != nil {
		return fmt.Errorf("registering SealedSecret metrics: %w", err)
	}
	r := &sealedsecret.Reconciler{
		Keys: reg, Metrics: metrics,
		UpdateStatus: o.UpdateStatus, AcceptV1Data: o.AcceptV1Data, SkipRecreate: o.SkipRecreate,
		OldGCBehavior: o.OldGCBehavior, Workers: o.Workers,
		Namespaces: o.Namespaces, LabelSelector: o.LabelSelector,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	env.ValueAges.Add(valueage.Source{Owner: "SealedSecret", Annotation: sealedsecret.ValueChangedAnnotation,
		List: func(ctx context.Context) ([]corev1.Secret, error) {
			var l corev1.SecretList
			err := r.Cache.List(ctx, &l)
			return l.Items, err
		}})
	served := []any{"namespaces", "all"}
	if len(o.Namespaces) > 0 {
		served[1] = o.Namespaces
	}
	if o.LabelSelector != nil {
		served = append(served, "labelSelector", o.LabelSelector.String())
	}
	mgr.GetLogger().WithName("sealedsecret").Info("serving SealedSecrets", served...)
	if o.ListenAddr == "" || o.ListenAddr == "0" {
		return nil
	}
	api, err := httpapi.New(httpapi.Options{Keys: reg, RateLimit: o.RateLimit, RateBurst: o.RateBurst,
		PeerRateLimit: o.PeerRateLimit, PeerRateBurst: o.PeerRateBurst,
		Registerer: env.Registry, Log: mgr.GetLogger().WithName("httpapi")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.ListenAddr)
	if err != nil {
		return fmt.Errorf("HTTP API on %s: %w", o.ListenAddr, err)
	}
	// Every replica answers: the API needs keys, not leadership.
	return mgr.Add(&ctrlmanager.Server{
		Name:     "sealed-secrets-api",
		Listener: ln,
		Server: &http.Server{
			Handler:           api,
			ReadHeaderTimeout: headerTimeout(o.ReadTimeout),
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
		},
		ShutdownTimeout: ptr(5 * time.Second),
	})
}

// headerTimeout bounds reading a request's headers: 10 s, or the whole
// request's read timeout when that is shorter.
func headerTimeout(read time.Duration) time.Duration {
	const limit = 10 * time.Second
	if read > 0 && read < limit {
		return read
	}
	return limit
}

// registerer is reg, or a throwaway registry when none is given, so
// metrics are never registered twice on a global one by accident.
func registerer(reg prometheus.Registerer) prometheus.Registerer {
	if reg == nil {
		return prometheus.NewRegistry()
	}
	return reg
}
