package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/manager"
	"github.com/keyward/keyward/internal/migrate/source"
	"github.com/keyward/keyward/internal/migrate/tostore"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/rotation"
	"github.com/keyward/keyward/internal/storeruntime"
)

type pushFlags struct {
	store, kind, path string
	selector          string
	names             []string
	sealed, keyFiles  []string
	out, apiVersion   string
	refresh, timeout  time.Duration
	noApply, cleanup  bool
	workers           int
	storeQPS          float64
}

func newMigratePushCommand(s Streams, getenv func(string) string, mf *migrateFlags, plan bool) *cobra.Command {
	f := &pushFlags{}
	short := "Push Secrets' values into an external store and hand the Secrets over to ExternalSecrets"
	if plan {
		short = "Show what migrate push would write where, changing nothing"
	}
	cmd := &cobra.Command{
		Use:   "push --store NAME --path TEMPLATE [SECRET...]",
		Short: short,
		Long: `Push moves Secrets to an external store (Vault, AWS Secrets Manager or Parameter Store, GCP,
Azure: any store the controller can write to) and hands each Secret over to an ExternalSecret
that reads it back, in place: the Secret is never deleted and never differs, not for a moment.

The Secrets come from a namespace (-n, --selector, or names as arguments), or from SealedSecret
files opened with a key backup (--sealed FILE --key-file keys-backup.yaml). For each Secret:

  1. its values are written to the store at --path, unless the store already holds them
     (read first, read back after); without {{.Key}} in --path a Secret is one remote secret,
     a JSON object with one property per key; with {{.Key}} each key is its own remote secret;
  2. its ExternalSecret (apiVersion external-secrets.io/v1, or --api-version v1beta1) is
     written to --out DIR/<name>.externalsecret.yaml, with creationPolicy Owner: the
     controller adopts the existing Secret instead of making a new one;
  3. unless --no-apply, the ExternalSecret is applied (server-side, field manager
     keyward-migrate), and push waits until it is Ready and controls the Secret, whose data
     must be byte-identical to the original. Only then is the Secret reported done.

A Secret a SealedSecret controls stays the SealedSecret's until --cleanup; meanwhile its
ExternalSecret is applied with creationPolicy None (it reads every value and writes nothing) and
push waits until it is Ready. With --cleanup, only after that, the SealedSecret is deleted with
propagationPolicy Orphan (the Secret stays) and the ExternalSecret, now Owner, adopts the Secret.
Two controllers never write the Secret at once.

Every step reads the current state first: run it twice and the second run changes nothing;
kill it midway and a rerun finishes. The store's credentials are read with your own
kubeconfig rights, as the controller would read them; a SecretStore never acts with an
ambient identity. No value ever appears in the report or an error.`,
		Example: `  # the guide's backend-secrets, from the production namespace into Vault
  keyward migrate plan push -n production --store vault-backend --path 'aura/{{.Namespace}}/{{.Name}}' backend-secrets
  keyward migrate push -n production --store vault-backend --path 'aura/{{.Namespace}}/{{.Name}}' \
      --out deploy/production backend-secrets --cleanup

  # SealedSecrets from Git, opened with the controller's key backup, into AWS Secrets Manager
  keyward migrate push -n production --sealed sealed/backend-secrets.yaml --key-file keys-backup.yaml \
      --store aws-secrets-manager --kind ClusterSecretStore --path 'aura/production/{{.Key}}' --api-version v1beta1`,
		RunE: withEnv(getenv, func(cmd *cobra.Command, args []string) error {
			f.names = args
			return runMigratePush(cmd.Context(), s, getenv, mf, f, plan)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.store, "store", "", "the SecretStore (or with --kind, ClusterSecretStore) to write to (required)")
	fs.StringVar(&f.kind, "kind", esv1.SecretStoreKind, "kind of --store: SecretStore or ClusterSecretStore")
	fs.StringVar(&f.path, "path", "", "remote key template over {{.Namespace}} {{.Name}} {{.Key}} (required)")
	fs.StringVarP(&f.selector, "selector", "l", "", "only Secrets with these labels (with -n)")
	fs.StringSliceVar(&f.sealed, "sealed", nil, "SealedSecret files to open instead of reading Secrets from the namespace")
	fs.StringSliceVar(&f.keyFiles, "key-file", nil, "private keys for --sealed: PEM files or a key backup (keyward keys backup)")
	fs.StringVar(&f.out, "out", "", "folder for the ExternalSecret manifests (none written when empty)")
	fs.StringVar(&f.apiVersion, "api-version", "v1", "ExternalSecret apiVersion: v1 or v1beta1")
	fs.DurationVar(&f.refresh, "refresh-interval", time.Hour, "the ExternalSecrets' refreshInterval")
	fs.BoolVar(&f.noApply, "no-apply", false, "only push values and write manifests; apply nothing to the cluster")
	fs.BoolVar(&f.cleanup, "cleanup", false, "after the hand-over, delete the SealedSecrets (orphaning their Secrets)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "longest to wait for the ExternalSecrets (and the garbage collector)")
	fs.IntVar(&f.workers, "workers", 8, "Secrets pushed at once")
	fs.Float64Var(&f.storeQPS, "store-qps", 200, "most calls a second to the store (each Secret costs a read, a write and a read back)")
	return cmd
}

func runMigratePush(ctx context.Context, s Streams, getenv func(string) string, mf *migrateFlags, f *pushFlags, plan bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if f.store == "" {
		return errors.New("--store: name the SecretStore or ClusterSecretStore to write to")
	}
	if f.kind != esv1.SecretStoreKind && f.kind != esv1.ClusterSecretStoreKind {
		return fmt.Errorf("--kind: %q is neither SecretStore nor ClusterSecretStore", f.kind)
	}
	path, err := tostore.ParsePath(f.path)
	if err != nil {
		return err
	}
	if len(f.sealed) > 0 && (f.selector != "" || len(f.names) > 0) {
		return errors.New("--sealed reads the Secrets from files: --selector and Secret names apply to a namespace only")
	}
	ns, err := mf.ns(getenv)
	if err != nil {
		return err
	}
	// SealedSecret files are opened before anything is asked of the
	// cluster: a wrong key or file fails fast.
	var secrets []source.Secret
	if len(f.sealed) > 0 {
		if len(f.keyFiles) == 0 {
			return errors.New("--sealed needs --key-file: the private keys (PEM, or `keyward keys backup` output)")
		}
		privs, err := keys.ReadPrivateKeyFiles(f.keyFiles)
		if err != nil {
			return err
		}
		if secrets, err = source.Sealed(f.sealed, privs, ns); err != nil {
			return err
		}
		for _, sec := range secrets {
			if sec.Secret.Namespace != ns {
				return fmt.Errorf("%s: SealedSecret %s is for namespace %s, not %s: push one namespace at a time (-n)", sec.Origin.File, sec.Secret.Name, sec.Secret.Namespace, ns)
			}
		}
	}
	cfg, err := mf.restConfig(getenv)
	if err != nil {
		return err
	}
	// Pushing hundreds of Secrets: more than client-go's default 5 requests a second.
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 100, 200
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if len(f.sealed) == 0 {
		var skipped map[string]string
		secrets, skipped, err = source.Cluster(ctx, cs, source.ClusterOptions{Namespace: ns, Selector: f.selector, Names: f.names})
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(skipped)) {
			fmt.Fprintf(s.Err, "skipping Secret %s: %s\n", k, skipped[k])
		}
	}
	if len(secrets) == 0 {
		return fmt.Errorf("no Secret to push in namespace %s", ns)
	}
	store, creds, err := openStore(ctx, cfg, cs, esv1.SecretStoreRef{Name: f.store, Kind: f.kind}, ns, f.storeQPS, f.workers)
	if err != nil {
		return err
	}
	// The store's own credentials stay plain Secrets: read from the store
	// they unlock, they could never be read again once lost.
	kept := secrets[:0]
	for _, sec := range secrets {
		if creds[sec.Secret.Name] {
			fmt.Fprintf(s.Err, "skipping Secret %s: the credentials of --store %s\n", sec.Key(), f.store)
			continue
		}
		kept = append(kept, sec)
	}
	secrets = kept
	if len(secrets) == 0 {
		return fmt.Errorf("no Secret to push in namespace %s", ns)
	}
	o := tostore.Options{
		StoreRef: esv1.SecretStoreRef{Name: f.store, Kind: f.kind}, Path: path, APIVersion: f.apiVersion,
		RefreshInterval: f.refresh, OutDir: f.out, Apply: !f.noApply, Cleanup: f.cleanup, DryRun: plan || mf.dryRun,
		Timeout: f.timeout, Workers: f.workers,
		Consumers: consumersOf(rotation.Client{Kube: cs, Dynamic: dyn}),
	}
	rep, runErr := tostore.Push(ctx, secrets, store, tostore.Cluster{Kube: cs, Dynamic: dyn}, o)
	if rep != nil {
		if err := rep.Write(s.Out, mf.output); err != nil {
			return err
		}
	}
	return runErr
}

// openStore reads the store with the user's rights and builds its client
// through the controller's providers and runtime, refusing a store that
// cannot be written to.
func openStore(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, ref esv1.SecretStoreRef, ns string, qps float64, workers int) (tostore.Store, map[string]bool, error) {
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, err
	}
	gs, err := storeref.Resolve(ctx, c, ref, ns, "")
	if errors.Is(err, storeref.ErrOtherController) {
		// The CLI serves whichever class the store names.
		gs, err = storeref.Resolve(ctx, c, ref, ns, storeClass(ctx, c, ref, ns))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--store: %w", err)
	}
	// A migration is one pass, bounded by --workers and --store-qps, rather
	// than the controller's steady load the runtime's defaults are set for.
	m := storeruntime.NewManager(storeruntime.NewKube(c, cs.CoreV1()), nil,
		storeruntime.Options{ValueCacheMaxAge: -1, QPS: qps, Burst: max(int(qps), 1), MaxConcurrent: max(workers, 1)},
		manager.DefaultProviders(cfg)...)
	st, err := m.Store(ctx, gs, ns)
	if err != nil {
		return nil, nil, fmt.Errorf("--store: %w", err)
	}
	if !st.CanWrite() {
		return nil, nil, fmt.Errorf("--store: %s cannot be written to (its provider reads only); push needs a store it can write", st.Name())
	}
	return storeHandle{st}, credentialSecrets(gs.GetSpec(), ns), nil
}

func storeClass(ctx context.Context, c client.Reader, ref esv1.SecretStoreRef, ns string) string {
	if ref.Kind == esv1.ClusterSecretStoreKind {
		s := &esv1.ClusterSecretStore{}
		if c.Get(ctx, client.ObjectKey{Name: ref.Name}, s) == nil {
			return s.Spec.Controller
		}
		return ""
	}
	s := &esv1.SecretStore{}
	if c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, s) == nil {
		return s.Spec.Controller
	}
	return ""
}

// storeHandle adapts the runtime's store to what the push needs: reads
// always go to the store (no cache), one at a time per key.
type storeHandle struct{ st *storeruntime.Store }

func (h storeHandle) Name() string { return h.st.Name() }
func (h storeHandle) Read(ctx context.Context, key string) (provider.Secret, error) {
	sec, _, err := h.st.Read(ctx, key, "", 0)
	return sec, err
}
func (h storeHandle) Write(ctx context.Context, key, property string, value []byte) error {
	return h.st.Write(ctx, key, property, value)
}

// consumersOf names the workloads that use a Secret, for plans.
func consumersOf(rc rotation.Client) tostore.Consumers {
	return workloadUsers(rc)
}

// credentialSecrets names the Secrets of namespace ns a store's provider
// settings refer to (every secret key selector: {name, key[, namespace]}).
func credentialSecrets(spec *esv1.SecretStoreSpec, ns string) map[string]bool {
	out := map[string]bool{}
	b, err := json.Marshal(spec.Provider)
	if err != nil {
		return out
	}
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return out
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			name, hasName := v["name"].(string)
			_, hasKey := v["key"].(string)
			refNS, _ := v["namespace"].(string)
			if hasName && hasKey && (refNS == "" || refNS == ns) {
				out[name] = true
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return out
}
