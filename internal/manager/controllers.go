package manager

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"k8s.io/apimachinery/pkg/runtime/schema"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/clusterexternalsecret"
	"github.com/keyward/keyward/internal/controller/externalsecret"
	"github.com/keyward/keyward/internal/controller/pushsecret"
	"github.com/keyward/keyward/internal/controller/secretstore"
	"github.com/keyward/keyward/internal/eventrec"
	"github.com/keyward/keyward/internal/valueage"
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

// The API resources the controllers list and watch.
var (
	externalSecrets        = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "externalsecrets"}
	secretStores           = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "secretstores"}
	clusterSecretStores    = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "clustersecretstores"}
	clusterExternalSecrets = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "clusterexternalsecrets"}
	pushSecrets            = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1alpha1", Resource: "pushsecrets"}
	sealedSecrets          = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}
)

// Controllers lists every controller the manager can run, in the order
// they are set up. Add new ones here: nothing registers itself.
func Controllers() []Controller {
	return []Controller{
		{Name: "externalsecret", Kind: "ExternalSecret", Needs: gvrs(externalSecrets), Help: "ExternalSecret -> Secret", Setup: func(ctx context.Context, env *Env) error {
			mgr := env.Manager
			rec, err := eventrec.For(mgr, "keyward-externalsecret")
			if err != nil {
				return err
			}
			env.ValueAges.Add(valueage.Source{Owner: "ExternalSecret", Annotation: externalsecret.ValueChangedAnnotation,
				List: func(ctx context.Context) ([]corev1.Secret, error) {
					var l corev1.SecretList
					err := mgr.GetCache().List(ctx, &l, client.MatchingLabels{esv1.LabelManaged: esv1.LabelManagedValue})
					return l.Items, err
				}})
			return (&externalsecret.Reconciler{
				Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Providers: env.Providers,
				Recorder: rec, Metrics: externalsecret.NewMetrics(env.Registry),
				Class: env.Class, Workers: env.Workers,
			}).SetupWithManager(ctx, mgr)
		}},
		{Name: "secretstore", Kind: "SecretStore", Needs: gvrs(secretStores), Help: "SecretStore validation and status", Setup: func(_ context.Context, env *Env) error {
			return (&secretstore.Reconciler{Client: env.Manager.GetClient(), Providers: env.Providers, Kind: esv1.SecretStoreKind,
				Class: env.Class, Workers: env.Workers}).SetupWithManager(env.Manager)
		}},
		{Name: "clustersecretstore", Kind: "ClusterSecretStore", Needs: gvrs(clusterSecretStores), ClusterScoped: true, Help: "ClusterSecretStore validation and status", Setup: func(_ context.Context, env *Env) error {
			return (&secretstore.Reconciler{Client: env.Manager.GetClient(), Providers: env.Providers, Kind: esv1.ClusterSecretStoreKind,
				Class: env.Class, Workers: env.Workers}).SetupWithManager(env.Manager)
		}},
		{Name: "clusterexternalsecret", Kind: "ClusterExternalSecret", Needs: gvrs(clusterExternalSecrets, externalSecrets), ClusterScoped: true, Help: "ClusterExternalSecret -> one ExternalSecret per namespace", Setup: func(_ context.Context, env *Env) error {
			return (&clusterexternalsecret.Reconciler{Client: env.Manager.GetClient(), Workers: env.Workers}).SetupWithManager(env.Manager)
		}},
		{Name: "sealedsecret", Kind: "SealedSecret", Needs: gvrs(sealedSecrets), Help: "SealedSecret -> Secret, the sealing keys and the kubeseal HTTP API", Setup: setupSealedSecrets},
		{Name: "pushsecret", Kind: "PushSecret", Needs: gvrs(pushSecrets), Help: "PushSecret: Secret values -> stores", Setup: func(_ context.Context, env *Env) error {
			mgr := env.Manager
			return (&pushsecret.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Providers: env.Providers,
				Class: env.Class, Workers: env.Workers}).SetupWithManager(mgr)
		}},
		// On by default: it acts only on workloads annotated to ask for it.
		{Name: "reload", Kind: "Reload", Needs: gvrs(deployments, statefulSets, daemonSets, secrets), Help: "restart workloads whose used Secret keys changed", Setup: setupReload},
	}
}

func gvrs(r ...schema.GroupVersionResource) []schema.GroupVersionResource { return r }
