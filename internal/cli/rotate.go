package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/keyward/keyward/internal/controllerclient"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/rotation"
)

type rotateFlags struct {
	kubeconfig, context, namespace string
	kube                           kubeFlags
	dryRun, noWait                 bool
	timeout                        time.Duration
}

func (f *rotateFlags) client(getenv func(string) string) (rotation.Client, string, error) {
	cfg, err := f.kube.restConfig(getenv, f.kubeconfig, f.context)
	if err != nil {
		return rotation.Client{}, "", err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return rotation.Client{}, "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return rotation.Client{}, "", err
	}
	ns := f.namespace
	if ns == "" {
		if ns, err = kubeconfigNamespace(getenv, f.kubeconfig, f.context); err != nil {
			return rotation.Client{}, "", err
		}
	}
	return rotation.Client{Dynamic: dyn, Kube: cs}, ns, nil
}

func newRotateCommand(s Streams, getenv func(string) string) *cobra.Command {
	f := &rotateFlags{}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate now: sync an ExternalSecret, push a new generated value, or renew the sealing key",
		Long: `Rotate a secret now instead of at its next refresh, and wait until the new value is in place.

  rotate externalsecret NAME   sync now (ESO's force-sync annotation; a generator makes a new value)
  rotate pushsecret NAME       make and push a new value (a PushSecret fed by a generator)
  rotate sealing-key PATH...   renew the sealing key and re-seal a Git tree with it, in one step

--dry-run changes nothing and lists the workloads that use the Secrets that would change, with the
keys they use: the ones a reload would restart. See docs/rotation.md.`,
	}
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace (default: the kubeconfig context's)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "change nothing; show what would be rotated and which workloads would restart")
	fs.BoolVar(&f.noWait, "no-wait", false, "return once the controller is asked, without waiting for the sync")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "longest to wait for the controller")
	f.kube.register(fs)
	cmd.AddCommand(newRotateExternalSecretCommand(s, getenv, f), newRotatePushSecretCommand(s, getenv, f),
		newRotateSealingKeyCommand(s, getenv, f))
	return cmd
}

func newRotateExternalSecretCommand(s Streams, getenv func(string) string, f *rotateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "externalsecret NAME",
		Short: "Sync an ExternalSecret now and wait until its Secret holds the store's value",
		Long: `Set ESO's force-sync annotation on the ExternalSecret, so the controller (Keyward's or
ESO's) reads the store now, whatever refreshInterval says, and wait until it reports a sync started
after the request with Ready=True. With a generator in dataFrom, the sync makes a new value.`,
		Example: `  keyward rotate externalsecret backend-secrets -n aura-production
  keyward rotate externalsecret backend-secrets --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := f.client(getenv)
			if err != nil {
				return err
			}
			es, _, err := c.Get(ctx, rotation.ExternalSecret, ns, args[0])
			if err != nil {
				return err
			}
			target := rotation.TargetSecret(es)
			if f.dryRun {
				fmt.Fprintf(s.Out, "would sync ExternalSecret %s/%s now; it writes Secret %s\n", ns, args[0], target)
				return printConsumers(ctx, s, c, ns, target)
			}
			return forceAndWait(ctx, s, c, f, rotation.ExternalSecret, "ExternalSecret", ns, args[0],
				fmt.Sprintf("Secret %s/%s", ns, target))
		},
	}
}

func newRotatePushSecretCommand(s Streams, getenv func(string) string, f *rotateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pushsecret NAME",
		Short: "Make and push a new value now (a PushSecret fed by a generator)",
		Long: `Set the force-sync annotation on the PushSecret, so the controller pushes now: a PushSecret
whose selector names a generator makes a new value and writes it into the store. Then wait until the
PushSecret reports Ready. The ExternalSecrets that read the pushed keys pick the value up at their
next refresh (or rotate them too: keyward rotate externalsecret NAME).`,
		Example: `  keyward rotate pushsecret db-password -n aura-production`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ns, err := f.client(getenv)
			if err != nil {
				return err
			}
			ps, _, err := c.Get(ctx, rotation.PushSecret, ns, args[0])
			if err != nil {
				return err
			}
			if f.dryRun {
				keys := pushedKeys(ps)
				fmt.Fprintf(s.Out, "would push a new value from PushSecret %s/%s to %s\n", ns, args[0], strings.Join(keys, ", "))
				readers, err := readersOf(ctx, c, ns, keys)
				if err != nil {
					return err
				}
				for _, target := range readers {
					fmt.Fprintf(s.Out, "ExternalSecret reading it writes Secret %s\n", target)
					if err := printConsumers(ctx, s, c, ns, target); err != nil {
						return err
					}
				}
				return nil
			}
			return forceAndWait(ctx, s, c, f, rotation.PushSecret, "PushSecret", ns, args[0], "the store")
		},
	}
}

// forceAndWait asks for a sync and, unless --no-wait, waits for it.
func forceAndWait(ctx context.Context, s Streams, c rotation.Client, f *rotateFlags, kind []schema.GroupVersionResource, name, ns, obj, where string) error {
	start := time.Now()
	before, err := c.ForceSync(ctx, kind, ns, obj, start)
	if err != nil {
		return err
	}
	if f.noWait {
		fmt.Fprintf(s.Out, "%s %s/%s asked to sync\n", name, ns, obj)
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := c.WaitSynced(wctx, kind, ns, obj, before, start); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintf(s.Out, "%s %s/%s synced in %s: %s holds the new value\n", name, ns, obj, time.Since(start).Round(10*time.Millisecond), where)
	return nil
}

// printConsumers lists the workloads that use Secret ns/secret.
func printConsumers(ctx context.Context, s Streams, c rotation.Client, ns, secret string) error {
	ws, err := c.Consumers(ctx, ns, secret)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		fmt.Fprintf(s.Out, "  no Deployment, StatefulSet or DaemonSet in %s uses Secret %s\n", ns, secret)
	}
	for _, w := range ws {
		if w.Reloads {
			fmt.Fprintf(s.Out, "  would restart %s (uses keys %s) if they change\n", w, strings.Join(w.Keys, ","))
		} else {
			fmt.Fprintf(s.Out, "  %s uses keys %s but is not opted in to reload: restart it yourself\n", w, strings.Join(w.Keys, ","))
		}
	}
	return nil
}

// pushedKeys are the remote keys a PushSecret writes.
func pushedKeys(ps *unstructured.Unstructured) []string {
	var out []string
	data, _, _ := unstructured.NestedSlice(ps.Object, "spec", "data")
	for _, d := range data {
		m, _ := d.(map[string]any)
		if k, ok, _ := unstructured.NestedString(m, "match", "remoteRef", "remoteKey"); ok {
			out = append(out, k)
		}
	}
	return out
}

// readersOf are the target Secrets of the ExternalSecrets in ns that read
// one of keys.
func readersOf(ctx context.Context, c rotation.Client, ns string, keys []string) ([]string, error) {
	var out []string
	for _, gvr := range rotation.ExternalSecret {
		list, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range list.Items {
			es := &list.Items[i]
			if readsAny(es, keys) {
				out = append(out, rotation.TargetSecret(es))
			}
		}
		return out, nil
	}
	return nil, errors.New("listing ExternalSecrets: the API server serves no external-secrets.io version Keyward knows")
}

func readsAny(es *unstructured.Unstructured, keys []string) bool {
	data, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
	from, _, _ := unstructured.NestedSlice(es.Object, "spec", "dataFrom")
	for _, d := range data {
		m, _ := d.(map[string]any)
		if k, ok, _ := unstructured.NestedString(m, "remoteRef", "key"); ok && slices.Contains(keys, k) {
			return true
		}
	}
	for _, d := range from {
		m, _ := d.(map[string]any)
		if k, ok, _ := unstructured.NestedString(m, "extract", "key"); ok && slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

func newRotateSealingKeyCommand(s Streams, getenv func(string) string, f *rotateFlags) *cobra.Command {
	var rf reencryptFlags
	var size int
	var prefix string
	cmd := &cobra.Command{
		Use:   "sealing-key PATH...",
		Short: "Renew the sealing key and re-seal a Git tree with it, in one step",
		Long: `Make a new sealing key (as 'keyward keys rotate'), wait until the controller seals with it
(its /v1/cert.pem shows the new fingerprint), then re-seal every SealedSecret under PATH with it
through the controller (as 'keyward reencrypt'). Old keys stay, so manifests not yet re-sealed still
open; values do not change, so no workload restarts. --dry-run makes no key and lists what would be
re-sealed.`,
		Example: `  keyward rotate sealing-key k8s/
  keyward rotate sealing-key --controller-namespace kube-system k8s/overlays/production --dry-run`,
		Args: cobra.MinimumNArgs(1),
		RunE: withEnv(getenv, func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rf.kubeconfig, rf.context = f.kubeconfig, f.context
			rf.controller.kube = f.kube
			rf.dryRun = f.dryRun
			if f.dryRun {
				fmt.Fprintln(s.Out, "would make a new sealing key, then re-seal:")
				return runReencrypt(ctx, s, getenv, &rf, args)
			}
			cfg, err := f.kube.restConfig(getenv, f.kubeconfig, f.context)
			if err != nil {
				return err
			}
			kube, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			fingerprint, err := newSealingKey(ctx, s, kube.CoreV1(), rf.controller.namespace, prefix, size, "", keys.DefaultTTL)
			if err != nil {
				return err
			}
			client, err := rf.controller.client(getenv, f.kubeconfig, f.context)
			if err != nil {
				return err
			}
			wctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			for {
				pem, err := client.FetchCert(wctx)
				if err == nil {
					if _, pub, err := keys.ParseCert(pem, time.Now()); err == nil && keys.Fingerprint(pub) == fingerprint {
						break
					}
				}
				select {
				case <-wctx.Done():
					return &ExitError{Code: 1, Err: fmt.Errorf("the controller %s/%s did not start sealing with the new key within %s; re-seal later with 'keyward reencrypt'", rf.controller.namespace, rf.controller.name, f.timeout)}
				case <-time.After(250 * time.Millisecond):
				}
			}
			return runReencrypt(ctx, s, getenv, &rf, args)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&rf.controller.name, "controller-name", controllerclient.DefaultName, "name of the controller's Service")
	fs.StringVar(&rf.controller.namespace, "controller-namespace", controllerclient.DefaultNamespace, "namespace of the controller's Service and key Secrets")
	fs.IntVar(&size, "key-size", keys.DefaultKeySize, "RSA key size of the new key: 2048, 3072 or 4096")
	fs.StringVar(&prefix, "key-prefix", keys.DefaultKeyPrefix, "name prefix of the key Secrets")
	return cmd
}
