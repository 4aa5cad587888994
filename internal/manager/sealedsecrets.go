package manager

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/keyward/keyward/internal/controller/sealedsecret"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/keys"
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
	// Workers is the number of SealedSecrets unsealed at once.
	Workers int

	// ListenAddr serves the HTTP API (--listen-addr); "" or "0" turns it off.
	ListenAddr string
	// RateLimit and RateBurst limit /v1/verify per client.
	RateLimit float64
	RateBurst int
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
		Workers: o.Workers,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	if o.ListenAddr == "" || o.ListenAddr == "0" {
		return nil
	}
	api, err := httpapi.New(httpapi.Options{Keys: reg, RateLimit: o.RateLimit, RateBurst: o.RateBurst,
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
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute, // Bitnami's --read-timeout
			WriteTimeout:      2 * time.Minute, // and --write-timeout
		},
		ShutdownTimeout: ptr(5 * time.Second),
	})
}

// registerer is reg, or a throwaway registry when none is given, so
// metrics are never registered twice on a global one by accident.
func registerer(reg prometheus.Registerer) prometheus.Registerer {
	if reg == nil {
		return prometheus.NewRegistry()
	}
	return reg
}
