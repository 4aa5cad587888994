package manager

import (
	"context"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/clusterexternalsecret"
	"github.com/keyward/keyward/internal/controller/externalsecret"
	"github.com/keyward/keyward/internal/controller/pushsecret"
	"github.com/keyward/keyward/internal/controller/secretstore"
	"github.com/keyward/keyward/internal/eventrec"
)

// Only enables the named controllers and switches off every other one.
func Only(names ...string) map[string]bool {
	on := map[string]bool{}
	for _, c := range Controllers() {
		on[c.Name] = false
	}
	for _, n := range names {
		on[n] = true
	}
	return on
}

// Controllers lists every controller the manager can run, in the order
// they are set up. Add new ones here: nothing registers itself.
func Controllers() []Controller {
	return []Controller{
		{Name: "externalsecret", Help: "ExternalSecret -> Secret", Setup: func(ctx context.Context, env *Env) error {
			mgr := env.Manager
			return (&externalsecret.Reconciler{
				Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Providers: env.Providers,
				Recorder: eventrec.For(mgr, "keyward-externalsecret"), Metrics: externalsecret.NewMetrics(env.Registry),
				Class: env.Class, Workers: env.Workers,
			}).SetupWithManager(ctx, mgr)
		}},
		{Name: "secretstore", Help: "SecretStore validation and status", Setup: func(_ context.Context, env *Env) error {
			return (&secretstore.Reconciler{Client: env.Manager.GetClient(), Providers: env.Providers, Kind: esv1.SecretStoreKind,
				Class: env.Class, Workers: env.Workers}).SetupWithManager(env.Manager)
		}},
		{Name: "clustersecretstore", ClusterScoped: true, Help: "ClusterSecretStore validation and status", Setup: func(_ context.Context, env *Env) error {
			return (&secretstore.Reconciler{Client: env.Manager.GetClient(), Providers: env.Providers, Kind: esv1.ClusterSecretStoreKind,
				Class: env.Class, Workers: env.Workers}).SetupWithManager(env.Manager)
		}},
		{Name: "clusterexternalsecret", ClusterScoped: true, Help: "ClusterExternalSecret -> one ExternalSecret per namespace", Setup: func(_ context.Context, env *Env) error {
			return (&clusterexternalsecret.Reconciler{Client: env.Manager.GetClient(), Workers: env.Workers}).SetupWithManager(env.Manager)
		}},
		{Name: "sealedsecret", Help: "SealedSecret -> Secret, the sealing keys and the kubeseal HTTP API", Setup: setupSealedSecrets},
		{Name: "pushsecret", Help: "PushSecret: Secret values -> stores", Setup: func(_ context.Context, env *Env) error {
			mgr := env.Manager
			return (&pushsecret.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Providers: env.Providers,
				Class: env.Class, Workers: env.Workers}).SetupWithManager(mgr)
		}},
	}
}
