package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

// keysFlags reach the cluster and name the controller's key Secrets.
type keysFlags struct {
	kubeconfig, context string
	controller          controllerFlags
	prefix              string
}

func (f *keysFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fs.StringVar(&f.prefix, "key-prefix", keys.DefaultKeyPrefix, "name prefix of the key Secrets")
	f.controller.register(fs)
}

func (f *keysFlags) kube(getenv func(string) string) (corev1client.CoreV1Interface, client.Client, error) {
	cfg, err := f.controller.kube.restConfig(getenv, f.kubeconfig, f.context)
	if err != nil {
		return nil, nil, err
	}
	kube, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	scheme := runtime.NewScheme()
	if err := ssv1.AddToScheme(scheme); err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, err
	}
	return kube, c, nil
}

func newKeysCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f keysFlags
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate, back up and restore the controller's sealing keys",
		Long: `The sealing keys live as Secrets in the controller's namespace
(--controller-namespace, default kube-system), labelled
sealedsecrets.bitnami.com/sealed-secrets-key=active, as with Bitnami's
controller. A running controller picks up keys added or restored here
without a restart. Keys are never deleted by Keyward: retire one by
relabelling it once 'keys list' shows that no SealedSecret still needs it.`,
		Args: cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags(), getenv)
		},
	}
	f.register(cmd)
	cmd.AddCommand(newKeysListCommand(s, getenv, &f), newKeysRotateCommand(s, getenv, &f),
		newKeysBackupCommand(s, getenv, &f), newKeysRestoreCommand(s, getenv, &f))
	return cmd
}

func newKeysListCommand(s Streams, getenv func(string) string, f *keysFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show each key: fingerprint, age, expiry, and how many SealedSecrets it still opens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, c, err := f.kube(getenv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			infos, unrecorded, err := keys.List(ctx, kube, c, f.controller.namespace, f.prefix)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				b, _ := json.MarshalIndent(infos, "", "  ")
				fmt.Fprintf(s.Out, "%s\n", b)
				return nil
			case "", "table":
			default:
				return fmt.Errorf("unsupported output format %q: use table or json", format)
			}
			if len(infos) == 0 {
				fmt.Fprintf(s.Err, "no sealing keys in namespace %s\n", f.controller.namespace)
				return nil
			}
			now := time.Now()
			w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FINGERPRINT\tSECRET\tAGE\tEXPIRES\tSEALEDSECRETS\t")
			for _, k := range infos {
				count := "?"
				if k.SealedSecrets != nil {
					count = fmt.Sprint(*k.SealedSecrets)
				}
				mark := ""
				if k.Current {
					mark = "current"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Fingerprint[:16], k.Secret, age(now.Sub(k.NotBefore)), k.NotAfter.Format("2006-01-02"), count, mark)
			}
			w.Flush()
			if unrecorded > 0 {
				fmt.Fprintf(s.Err, "%d SealedSecrets have no key record yet (not unsealed by Keyward since they changed)\n", unrecorded)
			}
			if infos[0].SealedSecrets == nil {
				fmt.Fprintln(s.Err, "SealedSecrets could not be listed (permission?): counts unknown")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "table", "table or json")
	return cmd
}

func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func newKeysRotateCommand(s Streams, getenv func(string) string, f *keysFlags) *cobra.Command {
	var size int
	var cn string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new sealing key now; the controller seals with it from then on",
		Long: `Rotate generates a key pair and stores it as a new key Secret in the
controller's namespace. A running Keyward controller starts sealing with it
at once (it watches its key Secrets); old keys stay, so everything sealed
before still opens. Re-seal old manifests with 'keyward reencrypt'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, _, err := f.kube(getenv)
			if err != nil {
				return err
			}
			_, err = newSealingKey(cmd.Context(), s, kube, f.controller.namespace, f.prefix, size, cn, ttl)
			return err
		},
	}
	cmd.Flags().IntVar(&size, "key-size", keys.DefaultKeySize, "RSA key size: 2048, 3072 or 4096")
	cmd.Flags().StringVar(&cn, "my-cn", "", "common name of the certificate")
	cmd.Flags().DurationVar(&ttl, "key-ttl", keys.DefaultTTL, "validity of the certificate")
	return cmd
}

func newKeysBackupCommand(s Streams, getenv func(string) string, f *keysFlags) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write every key Secret to a file (private keys: keep it safe)",
		Long: `Backup writes the key Secrets (a v1 List) so that 'keys restore' can
put them back, and 'keyward unseal --private-key FILE' can open
SealedSecrets offline. The file holds private keys and is written with mode
0600; store it as you would the cluster's most secret credential.`,
		Example: `  keyward keys backup -w sealing-keys.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, _, err := f.kube(getenv)
			if err != nil {
				return err
			}
			list, err := keys.Backup(cmd.Context(), kube, f.controller.namespace, f.prefix)
			if err != nil {
				return err
			}
			if err := writeKeyBackup(s, output, format, list); err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "backed up %d key Secrets from %s\n", len(list.Items), f.controller.namespace)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output-file", "w", "", "write to this file (mode 0600) instead of standard output")
	cmd.Flags().StringVarP(&format, "format", "o", "yaml", "yaml or json")
	return cmd
}

func newKeysRestoreCommand(s Streams, getenv func(string) string, f *keysFlags) *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "restore -f FILE",
		Short: "Put key Secrets from a backup back into the controller's namespace",
		Long: `Restore creates each key Secret of a backup (from 'keys backup', or
kubectl get secrets -o yaml) in the controller's namespace. Keys already
there are left as they are; a different key under the same name is an
error, never overwritten. A running controller uses restored keys at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return errors.New("restore needs -f FILE")
			}
			kube, _, err := f.kube(getenv)
			if err != nil {
				return err
			}
			secrets, err := readBackup(input)
			if err != nil {
				return err
			}
			r, err := keys.Restore(cmd.Context(), kube, f.controller.namespace, input, secrets)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "restored %d key Secrets into %s (%d already there)\n", r.Created, f.controller.namespace, r.Kept)
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "filename", "f", "", "backup file")
	return cmd
}

// readBackup reads the Secrets of a key backup file.
func readBackup(path string) ([]*corev1.Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading backup: %w", err)
	}
	docs, err := sealing.ReadDocuments(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", path, err)
	}
	secrets, err := sealing.DecodeSecrets(docs)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", path, err)
	}
	return secrets, nil
}

// writeKeyBackup writes a key backup to output (mode 0600 whatever the file
// had) or standard output.
func writeKeyBackup(s Streams, output, format string, list *corev1.List) error {
	if output != "" {
		format = sealing.FormatForFile(output, format)
	}
	b, err := sealing.Encode(format, list)
	if err != nil {
		return err
	}
	return writeOutput(s, output, b, privateFile)
}

// newSealingKey stores a new active key pair in the controller's namespace
// and says so; it returns the new key's fingerprint.
func newSealingKey(ctx context.Context, s Streams, kube corev1client.CoreV1Interface, ns, prefix string, size int, cn string, ttl time.Duration) (string, error) {
	labels := map[string]string{keys.KeyLabel: keys.KeyLabelActive}
	sec, err := keys.CreateKeySecret(ctx, kube, ns, prefix, size, cn, ttl, labels, nil)
	if err != nil {
		return "", err
	}
	ks, err := keys.ParseKeySecret(sec)
	if err != nil || len(ks) == 0 {
		return "", fmt.Errorf("reading back key Secret %s/%s: %v", sec.Namespace, sec.Name, err)
	}
	fmt.Fprintf(s.Out, "new sealing key %s/%s, fingerprint %s\n", sec.Namespace, sec.Name, ks[0].Fingerprint)
	return ks[0].Fingerprint, nil
}
