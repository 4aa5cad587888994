package cli

import (
	"context"
	"fmt"
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keyward/keyward/internal/rotation"
)

// migrateFlags are the flags every migrate step shares.
type migrateFlags struct {
	kubeconfig, context, namespace string
	kube                           kubeFlags
	output                         string
	dryRun                         bool
}

// restConfig connects to the cluster the kubeconfig names.
func (f *migrateFlags) restConfig(getenv func(string) string) (*rest.Config, error) {
	return f.kube.restConfig(getenv, f.kubeconfig, f.context)
}

// clientset is a client-go clientset for the cluster.
func (f *migrateFlags) clientset(getenv func(string) string) (kubernetes.Interface, *rest.Config, error) {
	cfg, err := f.restConfig(getenv)
	if err != nil {
		return nil, nil, err
	}
	if cfg.QPS == 0 {
		// A step makes a few requests per Secret; client-go's default of
		// 5 a second would make 500 Secrets a matter of minutes.
		cfg.QPS, cfg.Burst = 100, 200
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cs, cfg, nil
}

// ns is --namespace, else the kubeconfig context's namespace.
func (f *migrateFlags) ns(getenv func(string) string) (string, error) {
	if f.namespace != "" {
		return f.namespace, nil
	}
	return kubeconfigNamespace(getenv, f.kubeconfig, f.context)
}

func newMigrateCommand(s Streams, getenv func(string) string) *cobra.Command {
	f := &migrateFlags{}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Walk the guide's path: plain Secrets -> SealedSecrets -> an external store, checking before each change",
		Long: `Move Secrets along the guide's path, one checked step at a time:

  migrate seal      plain Secrets (a namespace, or manifests in a Git tree) -> SealedSecrets
  migrate push      Secrets or SealedSecrets -> values in an external store + ExternalSecrets
  migrate promote   compare or copy the secrets one environment needs into another
  migrate plan      any step as a dry run: what would be written where, who uses each Secret

Every step is idempotent (run twice, nothing changes) and resumable (killed in the middle, a rerun
finishes the job); none deletes or blanks a Secret a workload uses. Output never holds a value.
See docs/migration.md.`,
	}
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace (default: the kubeconfig context's)")
	fs.StringVarP(&f.output, "output", "o", "table", "report format: table or json")
	f.kube.register(fs)

	plan := &cobra.Command{
		Use:   "plan",
		Short: "Show what a migrate step would do, changing nothing",
		Long: `Run a migrate step as a dry run: what would be written where, which workloads use each
Secret, and what would differ from what is there now. Takes the same flags as the step.`,
	}
	plan.AddCommand(newMigrateSealCommand(s, getenv, f, true), newMigratePushCommand(s, getenv, f, true),
		newMigratePromoteCommand(s, getenv, f, true))
	cmd.AddCommand(newMigrateSealCommand(s, getenv, f, false), newMigratePushCommand(s, getenv, f, false),
		newMigratePromoteCommand(s, getenv, f, false), plan)
	return cmd
}

// notYet is a step whose command is not built yet.
func notYet(use string) *cobra.Command {
	return &cobra.Command{Use: use, Hidden: true, RunE: func(*cobra.Command, []string) error {
		return fmt.Errorf("migrate %s is not available in this build", use)
	}}
}

// workloadUsers answers "which workloads use Secret ns/name" from one
// listing of each namespace's workloads, however many Secrets a run has.
func workloadUsers(rc rotation.Client) func(ctx context.Context, ns, name string) ([]string, error) {
	var mu sync.Mutex
	byNS := map[string]map[string][]string{}
	return func(ctx context.Context, ns, name string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		users, ok := byNS[ns]
		if !ok {
			var err error
			if users, err = rc.Users(ctx, ns); err != nil {
				return nil, err
			}
			byNS[ns] = users
		}
		return users[name], nil
	}
}
