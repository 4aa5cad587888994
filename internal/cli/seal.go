package cli

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/internal/sealing"
)

// sealFlags are the flags `keyward seal` shares with kubeseal.
type sealFlags struct {
	certFlags
	scope          string
	format         string
	input          string
	output         string
	raw            bool
	fromFile       []string
	name           string
	namespace      string
	mergeInto      string
	allowEmptyData bool
}

func (f *sealFlags) register(fs *pflag.FlagSet) {
	f.certFlags.register(fs)
	fs.Var((*scopeValue)(&f.scope), "scope", "strict, namespace-wide or cluster-wide (default: what the Secret's annotations say, else strict)")
	fs.StringVarP(&f.format, "format", "o", "json", "output format: json or yaml")
	fs.StringVarP(&f.input, "secret-file", "f", "", "read the input from this file instead of standard input")
	fs.StringVarP(&f.output, "sealed-secret-file", "w", "", "write the output to this file, atomically and only on success (.yaml/.yml forces yaml)")
	fs.BoolVar(&f.raw, "raw", false, "seal one value (from --from-file or standard input) and print the bare ciphertext")
	fs.StringArrayVar(&f.fromFile, "from-file", nil, "with --raw: the value to seal, as [key=]path")
	fs.StringVar(&f.name, "name", "", "name of the Secret (overrides the input's; needed by --raw with strict scope)")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the Secret when the input has none")
	fs.StringVar(&f.mergeInto, "merge-into", "", "seal the input Secret's items into this SealedSecret file, in place, keeping its name, namespace and scope")
	fs.BoolVar(&f.allowEmptyData, "allow-empty-data", false, "seal Secrets that have no data")
}

// scopeValue checks --scope when it is set, so a bad value from the command
// line or from SEALED_SECRETS_SCOPE is reported where it came from.
type scopeValue string

func (v *scopeValue) String() string { return string(*v) }
func (v *scopeValue) Type() string   { return "scope" }
func (v *scopeValue) Set(s string) error {
	if _, err := sealing.ParseScope(s); err != nil {
		return errors.New("must be one of strict, namespace-wide, cluster-wide")
	}
	*v = scopeValue(s)
	return nil
}

func newSealCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f sealFlags
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Seal Secrets into SealedSecrets offline (kubeseal compatible)",
		Long: `Seal reads Secrets (a YAML stream or concatenated JSON) and writes one
SealedSecret per Secret, sealed with the controller's certificate. The
output opens with Bitnami's controller and with keyward's.

Flags are kubeseal's, and SEALED_SECRETS_<FLAG> environment variables set
them too (for example SEALED_SECRETS_CERT).`,
		Example: `  kubectl create secret generic db --from-literal=password=s3cret --dry-run=client -o yaml \
    | keyward seal --cert pub-cert.pem -o yaml > sealed-db.yaml
  keyward seal --cert pub-cert.pem --raw --namespace prod --name db --from-file password=pw.txt`,
		Args: cobra.NoArgs,
		RunE: withEnv(getenv, func(cmd *cobra.Command, _ []string) error {
			return runSeal(cmd.Context(), s, getenv, &f, cmd.Flags().Changed("format"))
		}),
	}
	f.register(cmd.Flags())
	return cmd
}

func (f *sealFlags) scopeOption() (*sealing.Scope, error) {
	if f.scope == "" {
		return nil, nil
	}
	sc, err := sealing.ParseScope(f.scope)
	if err != nil {
		return nil, fmt.Errorf("--scope: %w", err)
	}
	return &sc, nil
}

// runSeal does all the work of `keyward seal` and of kubeseal's sealing
// modes. Output is produced only after everything succeeded.
func runSeal(ctx context.Context, s Streams, getenv func(string) string, f *sealFlags, formatSet bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	format, err := sealing.ParseFormat(f.format)
	if err != nil {
		return err
	}
	scope, err := f.scopeOption()
	if err != nil {
		return err
	}
	if len(f.fromFile) > 0 && !f.raw {
		return errors.New("--from-file only works with --raw")
	}
	if f.raw && f.mergeInto != "" {
		return errors.New("--raw and --merge-into cannot be used together")
	}
	if f.mergeInto != "" && f.output != "" {
		return errors.New("--merge-into rewrites its file in place; do not also give --sealed-secret-file")
	}
	pub, err := f.publicKey(ctx, getenv)
	if err != nil {
		return err
	}
	in, done, err := openInput(s, f.input)
	if err != nil {
		return err
	}
	defer done()

	if f.raw {
		return sealRaw(s, getenv, f, scope, pub, in)
	}
	ctxNS, err := kubeconfigNamespace(getenv, f.kubeconfig, f.context)
	if err != nil {
		return err
	}
	opts := sealing.Options{Scope: scope, Name: f.name, Namespace: f.namespace, DefaultNamespace: ctxNS, AllowEmptyData: f.allowEmptyData}
	secrets, err := sealing.ReadSecrets(in)
	if err != nil {
		return err
	}
	if f.mergeInto != "" {
		return mergeInto(f, secrets, pub, opts, format, formatSet)
	}
	if f.name != "" && len(secrets) > 1 {
		return fmt.Errorf("--name applies to one Secret, but the input has %d", len(secrets))
	}
	sealed, err := sealing.SealAll(secrets, pub, opts)
	if err != nil {
		return err
	}
	if f.output != "" {
		format = sealing.FormatForFile(f.output, format)
	}
	objs := make([]any, len(sealed))
	for i, ss := range sealed {
		objs[i] = ss
	}
	out, err := sealing.Encode(format, objs...)
	if err != nil {
		return err
	}
	return writeOutput(s, f.output, out, publicFile)
}

func sealRaw(s Streams, getenv func(string) string, f *sealFlags, scope *sealing.Scope, pub *rsa.PublicKey, in io.Reader) error {
	sc := sealing.Strict
	if scope != nil {
		sc = *scope
	}
	var value []byte
	switch len(f.fromFile) {
	case 0:
		b, err := io.ReadAll(in)
		if err != nil {
			return fmt.Errorf("reading the value: %w", err)
		}
		value = b
	case 1:
		path := f.fromFile[0]
		if _, p, ok := strings.Cut(path, "="); ok {
			path = p
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--from-file: %w", err)
		}
		value = b
	default:
		return errors.New("--raw seals exactly one value: give --from-file once")
	}
	ns := f.namespace
	if ns == "" && sc != sealing.ClusterWide {
		var err error
		if ns, err = kubeconfigNamespace(getenv, f.kubeconfig, f.context); err != nil {
			return err
		}
	}
	out, err := sealing.SealRaw(pub, sc, ns, f.name, value, nil)
	if err != nil {
		return err
	}
	return writeOutput(s, f.output, []byte(out), publicFile)
}

// mergeInto seals one Secret into the SealedSecret file f.mergeInto and
// rewrites that file atomically, in its own format unless -o was given.
func mergeInto(f *sealFlags, secrets []*corev1.Secret, pub *rsa.PublicKey, opts sealing.Options, format string, formatSet bool) error {
	if len(secrets) != 1 {
		return fmt.Errorf("--merge-into takes one Secret, but the input has %d", len(secrets))
	}
	b, err := os.ReadFile(f.mergeInto)
	if err != nil {
		return fmt.Errorf("--merge-into: %w", err)
	}
	dst, err := sealing.ParseSealedSecret(b)
	if err != nil {
		return fmt.Errorf("--merge-into %s: %w", f.mergeInto, err)
	}
	if err := sealing.SealInto(dst, secrets[0], pub, opts); err != nil {
		return err
	}
	if !formatSet {
		format = sealing.DetectFormat(b)
	}
	out, err := sealing.Encode(format, dst)
	if err != nil {
		return err
	}
	return writeFileAtomic(f.mergeInto, out, publicFile)
}
