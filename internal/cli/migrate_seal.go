package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/keyward/keyward/internal/audit/reuse"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/migrate/source"
	"github.com/keyward/keyward/internal/migrate/tosealed"
	"github.com/keyward/keyward/internal/rotation"
	"github.com/keyward/keyward/internal/sealing"
)

// migrateSealFlags are `migrate seal`'s own flags.
type migrateSealFlags struct {
	cert         string
	controller   controllerFlags
	selector     string
	scope        string
	out          string
	replace      bool
	keyFiles     []string
	adopt, apply bool
	timeout      time.Duration
	hmacKey      string
	consumers    bool
	dryRun       bool
}

func newMigrateSealCommand(s Streams, getenv func(string) string, mf *migrateFlags, plan bool) *cobra.Command {
	f := &migrateSealFlags{scope: "strict"}
	cmd := &cobra.Command{
		Use:   "seal [PATH...]",
		Short: "Turn plain Secrets (a namespace, or manifests in a Git tree) into SealedSecrets",
		Long: `Seal plain Secrets into SealedSecrets, one file per Secret, and list what was done.

From a Git tree (PATH... files or folders): Secret documents in *.yaml, *.yml and *.json files,
the Secret items of v1 Lists, and kustomize secretGenerator entries (literals, files, envs). Each
SealedSecret is written next to its source as NAME.sealedsecret.yaml, or into --out. With
--replace the plaintext is then removed - the Secret's document or List item, or the
secretGenerator entry and its input files (the sealed file is added to the kustomization's
resources) - but only after every SealedSecret, read back from disk, was opened with the
controller's key (online through its /v1/verify, or offline with --key-file) and matched the
original byte for byte. If any does not, nothing is removed.

From a cluster (no PATH; -n, --selector): every Secret of the namespace that no SealedSecret or
ExternalSecret manages yet, written into --out. --adopt (the default here) marks each Secret so
the controller takes it over in place when its SealedSecret arrives; --apply also applies the
SealedSecrets and waits until each Secret is synced and byte-identical to what it was. The
Secret is never deleted or changed in value on the way.

Each file records a keyed hash of its source (HMAC-SHA256 with --hmac-key), so a rerun with
unchanged sources changes nothing, and a run killed in the middle finishes on the next. The
report and every message name Secrets, keys and files, never a value.`,
		Example: `  # What would happen, for a tree sealed with a certificate file:
  keyward migrate plan seal --cert pub-cert.pem -n prod ./deploy

  # Seal, then remove the plaintext after an offline check with the key backup:
  keyward migrate seal --cert pub-cert.pem --replace --key-file keys-backup.yaml ./deploy

  # Seal with the controller's certificate and check through the controller:
  keyward migrate seal --replace ./deploy/overlays/prod

  # A namespace: write SealedSecrets into ./sealed, hand the Secrets to the controller:
  keyward migrate seal -n prod --selector app=api --out ./sealed --apply`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("adopt") {
				f.adopt = len(args) == 0
			}
			if !cmd.Flags().Changed("consumers") {
				f.consumers = len(args) == 0
			}
			return runMigrateSeal(cmd.Context(), s, getenv, mf, f, args, plan || f.dryRun || mf.dryRun)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.cert, "cert", "", "certificate to seal with: a file, or an http(s):// or file:// URL (default: fetch it from the controller)")
	fs.StringVar(&f.controller.name, "controller-name", "sealed-secrets-controller", "name of the controller's Service")
	fs.StringVar(&f.controller.namespace, "controller-namespace", "kube-system", "namespace of the controller's Service")
	fs.StringVarP(&f.selector, "selector", "l", "", "cluster source: only Secrets with these labels (key=value,...)")
	fs.Var((*scopeValue)(&f.scope), "scope", "strict, namespace-wide or cluster-wide")
	fs.StringVar(&f.out, "out", "", "folder to write the SealedSecrets into (default: next to each source; for a cluster, the current folder)")
	fs.BoolVar(&f.replace, "replace", false, "tree source: remove the plaintext once every SealedSecret was shown to open to the original")
	fs.StringArrayVar(&f.keyFiles, "key-file", nil, "with --replace: check offline with these private key FILEs (PEM, or what keyward keys backup writes) instead of the controller")
	fs.BoolVar(&f.adopt, "adopt", false, "mark each existing Secret so the controller takes it over in place (default true for a cluster source)")
	fs.BoolVar(&f.apply, "apply", false, "cluster source: apply the SealedSecrets and wait until each Secret is synced and unchanged")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "with --apply: how long to wait for each SealedSecret")
	fs.StringVar(&f.hmacKey, "hmac-key", "", "key FILE for the source hashes (default: the one keyward audit keeps, made on first use)")
	fs.BoolVar(&f.consumers, "consumers", false, "name the workloads that use each Secret (default true for a cluster source)")
	if !plan {
		fs.BoolVar(&f.dryRun, "dry-run", false, "change nothing; report what would be done (as migrate plan seal does)")
	}
	return cmd
}

func runMigrateSeal(ctx context.Context, s Streams, getenv func(string) string, mf *migrateFlags, f *migrateSealFlags, paths []string, dryRun bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if mf.output != "table" && mf.output != "json" && mf.output != "" {
		return fmt.Errorf("--output %q: use table or json", mf.output)
	}
	scope, err := sealing.ParseScope(f.scope)
	if err != nil {
		return fmt.Errorf("--scope: %w", err)
	}
	fromCluster := len(paths) == 0
	switch {
	case fromCluster && f.replace:
		return errors.New("--replace removes plaintext from a tree: give the PATHs of the manifests (for a cluster, --adopt takes the Secrets over in place)")
	case !fromCluster && f.selector != "":
		return errors.New("--selector picks Secrets of a cluster: give no PATH, or drop it")
	case !fromCluster && f.apply:
		return errors.New("--apply is for a cluster source; commit the files and let your deployment apply them")
	case len(f.keyFiles) > 0 && !f.replace:
		return errors.New("--key-file only checks what --replace removes: add --replace")
	}
	keyPath := f.hmacKey
	if keyPath == "" {
		if keyPath, err = reuse.DefaultKeyPath(getenv); err != nil {
			return err
		}
	}
	hkey, err := reuse.LoadOrCreateKey(keyPath)
	if err != nil {
		return err
	}
	o := tosealed.Options{DryRun: dryRun, Scope: scope, Out: f.out, HMACKey: hkey, Replace: f.replace,
		Adopt: f.adopt, Apply: f.apply, Wait: f.timeout}
	if !dryRun {
		o.Progress = s.Err
	}
	cert := certFlags{cert: f.cert, kubeconfig: mf.kubeconfig, context: mf.context,
		controller: controllerFlags{name: f.controller.name, namespace: f.controller.namespace, kube: mf.kube}}

	needCluster := fromCluster || f.consumers || f.adopt || (f.replace && len(f.keyFiles) == 0)
	if needCluster {
		cs, cfg, err := mf.clientset(getenv)
		if err != nil {
			return err
		}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			return err
		}
		o.Kube, o.Dynamic = cs, dyn
		if f.consumers {
			rc := rotation.Client{Kube: cs, Dynamic: dyn}
			o.Consumers = workloadUsers(rc)
		}
	}
	if f.replace {
		if len(f.keyFiles) > 0 {
			privs, err := keys.ReadPrivateKeyFiles(f.keyFiles)
			if err != nil {
				return err
			}
			o.Verify = tosealed.Offline{Keys: privs}
		} else {
			client, err := cert.controller.client(getenv, mf.kubeconfig, mf.context)
			if err != nil {
				return err
			}
			o.Verify = tosealed.Online{Client: client}
		}
	}
	if o.Pub, err = cert.publicKey(ctx, getenv); err != nil {
		return err
	}

	if fromCluster {
		ns, err := mf.ns(getenv)
		if err != nil {
			return err
		}
		if ns == "" {
			return errors.New("no namespace: pass -n NAMESPACE, or give the PATHs of manifests to seal")
		}
		secrets, skipped, err := source.Cluster(ctx, o.Kube, source.ClusterOptions{Namespace: ns, Selector: f.selector})
		if err != nil {
			return err
		}
		o.Secrets = secrets
		for name, why := range skipped {
			o.Skipped = append(o.Skipped, source.Skip{Secret: name, Why: why})
		}
		sortSkips(o.Skipped)
	} else {
		ns := mf.namespace
		if ns == "" {
			// The kubeconfig's namespace, when there is a kubeconfig.
			ns, _ = kubeconfigNamespace(getenv, mf.kubeconfig, mf.context)
		}
		tree, err := source.ReadTree(paths, source.TreeOptions{Namespace: ns})
		if err != nil {
			return err
		}
		o.Tree, o.Secrets, o.Skipped = tree, tree.Secrets, tree.Skipped
	}

	rep, runErr := tosealed.Run(ctx, o)
	if err := rep.Write(s.Out, mf.output); err != nil {
		return err
	}
	if runErr != nil {
		return &ExitError{Code: 1, Err: runErr}
	}
	return nil
}

func sortSkips(s []source.Skip) {
	sort.Slice(s, func(i, j int) bool { return s[i].Secret < s[j].Secret })
}
