package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/internal/sealing"
)

// createFlags are the sealing side of `keyward create secret ...`.
type createFlags struct {
	certFlags
	scope          string
	namespace      string
	format         string
	output         string
	allowEmptyData bool
}

func (f *createFlags) register(fs *pflag.FlagSet) {
	f.certFlags.register(fs)
	fs.Var((*scopeValue)(&f.scope), "scope", "strict (default), namespace-wide or cluster-wide")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the Secret (default: the kubeconfig context's)")
	fs.StringVarP(&f.format, "format", "o", "json", "output format: json or yaml")
	fs.StringVarP(&f.output, "sealed-secret-file", "w", "", "write the SealedSecret to this file, atomically (.yaml/.yml forces yaml)")
	fs.BoolVar(&f.allowEmptyData, "allow-empty-data", false, "seal a Secret that has no data")
}

func newCreateCommand(s Streams, getenv func(string) string) *cobra.Command {
	create := &cobra.Command{
		Use:   "create",
		Short: "Create sealed resources in one step",
		Args:  cobra.NoArgs,
	}
	secret := &cobra.Command{
		Use:   "secret",
		Short: "Build a Secret like kubectl create secret, and seal it: the plaintext never touches disk",
		Args:  cobra.NoArgs,
	}
	secret.AddCommand(newCreateGenericCommand(s, getenv), newCreateTLSCommand(s, getenv), newCreateDockerCommand(s, getenv))
	create.AddCommand(secret)
	return create
}

func newCreateGenericCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f createFlags
	var literals, files, envFiles []string
	var typ string
	cmd := &cobra.Command{
		Use:   "generic NAME",
		Short: "Seal a Secret built from literals, files and env files",
		Example: `  keyward create secret generic backend-secrets -n production \
    --from-literal=postgres-db-uri='postgresql://...' --cert pub-cert.pem -o yaml > sealed-backend.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: withEnv(getenv, func(cmd *cobra.Command, args []string) error {
			var items []sealing.Item
			for _, l := range literals {
				it, err := sealing.ParseLiteral(l)
				if err != nil {
					return err
				}
				items = append(items, it)
			}
			for _, spec := range files {
				its, err := itemsFromFile(spec)
				if err != nil {
					return err
				}
				items = append(items, its...)
			}
			for _, p := range envFiles {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("--from-env-file: %w", err)
				}
				its, err := sealing.ParseEnvFile(p, b)
				if err != nil {
					return err
				}
				items = append(items, its...)
			}
			secret, err := sealing.NewSecret(args[0], "", corev1.SecretType(typ), items)
			if err != nil {
				return err
			}
			return sealBuilt(cmd, s, getenv, &f, secret)
		}),
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&literals, "from-literal", nil, "an item as key=value (repeatable)")
	fs.StringArrayVar(&files, "from-file", nil, "an item from a file as [key=]path, or every file of a directory (repeatable)")
	fs.StringArrayVar(&envFiles, "from-env-file", nil, "items from a file of KEY=VALUE lines (repeatable)")
	fs.StringVar(&typ, "type", "", "Secret type (default Opaque)")
	f.register(fs)
	return cmd
}

func newCreateTLSCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f createFlags
	var certFile, keyFile string
	cmd := &cobra.Command{
		Use:   "tls NAME --tls-cert FILE --tls-key FILE",
		Short: "Seal a kubernetes.io/tls Secret (--cert stays the sealing certificate)",
		Args:  cobra.ExactArgs(1),
		RunE: withEnv(getenv, func(cmd *cobra.Command, args []string) error {
			if certFile == "" || keyFile == "" {
				return errors.New("--tls-cert and --tls-key are both required")
			}
			c, err := os.ReadFile(certFile)
			if err != nil {
				return fmt.Errorf("--tls-cert: %w", err)
			}
			k, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("--tls-key: %w", err)
			}
			secret, err := sealing.NewTLSSecret(args[0], "", c, k)
			if err != nil {
				return err
			}
			return sealBuilt(cmd, s, getenv, &f, secret)
		}),
	}
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "PEM certificate (chain) for tls.crt")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "PEM private key for tls.key")
	f.register(cmd.Flags())
	return cmd
}

func newCreateDockerCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f createFlags
	var server, user, password, email string
	cmd := &cobra.Command{
		Use:   "docker-registry NAME",
		Short: "Seal a kubernetes.io/dockerconfigjson Secret for pulling images",
		Args:  cobra.ExactArgs(1),
		RunE: withEnv(getenv, func(cmd *cobra.Command, args []string) error {
			secret, err := sealing.NewDockerRegistrySecret(args[0], "", server, user, password, email)
			if err != nil {
				return err
			}
			return sealBuilt(cmd, s, getenv, &f, secret)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&server, "docker-server", sealing.DefaultDockerServer, "registry server")
	fs.StringVar(&user, "docker-username", "", "registry user name")
	fs.StringVar(&password, "docker-password", "", "registry password or token")
	fs.StringVar(&email, "docker-email", "", "registry email (optional)")
	f.register(fs)
	return cmd
}

// sealBuilt seals a Secret built in memory and writes the SealedSecret.
func sealBuilt(cmd *cobra.Command, s Streams, getenv func(string) string, f *createFlags, secret *corev1.Secret) error {
	format, err := sealing.ParseFormat(f.format)
	if err != nil {
		return err
	}
	sf := sealFlags{scope: f.scope}
	scope, err := sf.scopeOption()
	if err != nil {
		return err
	}
	pub, err := f.publicKey(cmd.Context(), getenv)
	if err != nil {
		return err
	}
	ctxNS, err := kubeconfigNamespace(getenv, f.kubeconfig, f.context)
	if err != nil {
		return err
	}
	ss, err := sealing.Seal(secret, pub, sealing.Options{Scope: scope, Namespace: f.namespace, DefaultNamespace: ctxNS, AllowEmptyData: f.allowEmptyData})
	if err != nil {
		return err
	}
	if f.output != "" {
		format = sealing.FormatForFile(f.output, format)
	}
	out, err := sealing.Encode(format, ss)
	if err != nil {
		return err
	}
	return writeOutput(s, f.output, out, publicFile)
}

// itemsFromFile reads a --from-file [key=]path; a directory gives one item
// per regular file, keyed by file name, as kubectl does.
func itemsFromFile(spec string) ([]sealing.Item, error) {
	key, path, hasKey := strings.Cut(spec, "=")
	if !hasKey {
		path, key = spec, ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--from-file: %w", err)
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--from-file: %w", err)
		}
		if key == "" {
			key = filepath.Base(path)
		}
		return []sealing.Item{{Key: key, Value: b, Source: "--from-file " + path}}, nil
	}
	if hasKey {
		return nil, fmt.Errorf("--from-file %s: a directory cannot take a key name", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("--from-file: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []sealing.Item
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(path, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("--from-file: %w", err)
		}
		out = append(out, sealing.Item{Key: e.Name(), Value: b, Source: "--from-file " + p})
	}
	return out, nil
}
