package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/audit/reuse"
	"github.com/keyward/keyward/internal/migrate/promote"
	"github.com/keyward/keyward/internal/migrate/tostore"
)

type promoteFlags struct {
	from, to          string
	values, allowSame bool
	out, hmacKey      string
	store, kind, path string
	apiVersion        string
	refresh           time.Duration
}

func newMigratePromoteCommand(s Streams, getenv func(string) string, mf *migrateFlags, plan bool) *cobra.Command {
	f := &promoteFlags{}
	short := "Compare the secrets one environment needs with another's, and copy the set across"
	if plan {
		short = "Show what migrate promote would copy or write, changing nothing"
	}
	cmd := &cobra.Command{
		Use:   "promote --from NAMESPACE --to NAMESPACE",
		Short: short,
		Long: `Promote takes the set of secrets an environment needs (the Secrets its Deployments,
StatefulSets, DaemonSets and CronJobs use, and those its ExternalSecrets and SealedSecrets make)
and checks it against another environment:

  missing      a Secret, or some of its keys, the target namespace does not have
  same-value   a value both environments hold: the guide wants different secrets per
               environment, so promote exits 1 unless --allow-same

Values are compared by keyed hash (HMAC-SHA256 with the key kept at
$XDG_CONFIG_HOME/keyward/audit.key, the one 'keyward audit reuse' uses); the report holds key
names and a short keyed hash, never a value or a plain hash of one.

By default nothing is copied but names and keys: --out DIR writes the target's manifests, one
ExternalSecret per Secret when --store and --path say where its values will live, else a Secret
skeleton with every key and empty values to fill in. --values copies the missing values into the
target namespace (a new Secret, or keys added to one that no controller writes; a key already
there is never overwritten).`,
		Example: `  # the guide's backend-secrets: what production still lacks of what staging uses
  keyward migrate promote --from staging --to production

  # write production's ExternalSecrets (store aws-secrets-manager, one remote secret per Secret)
  keyward migrate promote --from staging --to production --out deploy/production \
      --store aws-secrets-manager --kind ClusterSecretStore --path 'aura/production/{{.Name}}' --api-version v1beta1

  # development to staging, copying the values too
  keyward migrate promote --from development --to staging --values --allow-same`,
		Args: cobra.NoArgs,
		RunE: withEnv(getenv, func(cmd *cobra.Command, _ []string) error {
			return runMigratePromote(cmd.Context(), s, getenv, mf, f, plan)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&f.from, "from", "", "namespace of the environment whose needs are copied (required)")
	fs.StringVar(&f.to, "to", "", "namespace of the environment to compare and fill (required)")
	fs.BoolVar(&f.values, "values", false, "copy the missing values too (default: names and keys only)")
	fs.BoolVar(&f.allowSame, "allow-same", false, "exit 0 even when a value is the same in both environments")
	fs.StringVar(&f.out, "out", "", "folder for the target's manifests (without --values)")
	fs.StringVar(&f.hmacKey, "hmac-key", "", "HMAC key file for comparing values (default: the audit key, made when missing)")
	fs.StringVar(&f.store, "store", "", "with --out: the store the target's ExternalSecrets read from")
	fs.StringVar(&f.kind, "kind", esv1.SecretStoreKind, "kind of --store: SecretStore or ClusterSecretStore")
	fs.StringVar(&f.path, "path", "", "with --store: remote key template over {{.Namespace}} {{.Name}} {{.Key}}")
	fs.StringVar(&f.apiVersion, "api-version", "v1", "ExternalSecret apiVersion: v1 or v1beta1")
	fs.DurationVar(&f.refresh, "refresh-interval", time.Hour, "the ExternalSecrets' refreshInterval")
	return cmd
}

func runMigratePromote(ctx context.Context, s Streams, getenv func(string) string, mf *migrateFlags, f *promoteFlags, plan bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.from == "" || f.to == "" {
		return fmt.Errorf("--from and --to: name both namespaces")
	}
	if f.values && f.out != "" {
		return fmt.Errorf("--values copies into the cluster; --out writes manifests instead: choose one")
	}
	if (f.store == "") != (f.path == "") {
		return fmt.Errorf("--store and --path go together")
	}
	if f.apiVersion != "v1" && f.apiVersion != "v1beta1" {
		return fmt.Errorf("--api-version: %q is neither v1 nor v1beta1", f.apiVersion)
	}
	var render promote.Manifest
	if f.store != "" {
		p, err := tostore.ParsePath(f.path)
		if err != nil {
			return err
		}
		ref := esv1.SecretStoreRef{Name: f.store, Kind: f.kind}
		render = func(ns, name string, keys []string, typ corev1.SecretType) ([]byte, error) {
			return tostore.Manifest(ns, name, keys, typ, p, ref, f.refresh, f.apiVersion)
		}
	}
	keyPath := f.hmacKey
	if keyPath == "" {
		var err error
		if keyPath, err = reuse.DefaultKeyPath(getenv); err != nil {
			return err
		}
	}
	key, err := reuse.LoadOrCreateKey(keyPath)
	if err != nil {
		return err
	}
	cs, cfg, err := mf.clientset(getenv)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	res, runErr := promote.Run(ctx, promote.Cluster{Kube: cs, Dynamic: dyn}, promote.Options{
		From: f.from, To: f.to, HMACKey: key, Values: f.values, OutDir: f.out, Manifest: render, DryRun: plan || mf.dryRun,
	})
	if res != nil {
		if err := res.Report.Write(s.Out, mf.output); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if res.Same > 0 && !f.allowSame {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d value(s) are the same in %s and %s; the guide wants different secrets per environment (--allow-same to accept)", res.Same, f.from, f.to)}
	}
	return nil
}
