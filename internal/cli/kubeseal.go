package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/version"
)

// kubesealFlags are kubeseal's flags beyond the sealing ones.
type kubesealFlags struct {
	seal           sealFlags
	recoveryUnseal bool
	recoveryKeys   []string
	fetchCert      bool
	validate       bool
	reEncrypt      bool
	rotate         bool
	verbosity      int
}

// newKubesealCommand is the command tree used when the binary runs as
// `kubeseal`: kubeseal's flags and SEALED_SECRETS_* variables, backed by the
// same code as `keyward seal` and `keyward unseal`.
func newKubesealCommand(s Streams, getenv func(string) string) *cobra.Command {
	f := &kubesealFlags{}
	cmd := &cobra.Command{
		Use:   "kubeseal",
		Short: "Seal Kubernetes Secrets for Git (Keyward, kubeseal compatible)",
		Long: `kubeseal reads a Secret (or several) on standard input and prints a
SealedSecret for each. This is Keyward answering to the kubeseal name: the
same flags, the same SEALED_SECRETS_* environment variables, the same bytes.

Without --cert FILE|URL the certificate is fetched from the controller
through the Kubernetes API server (--controller-namespace, --controller-name),
as are --validate and --re-encrypt.`,
		Version:       version.Get().Version,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: withEnv(getenv, func(cmd *cobra.Command, _ []string) error {
			return runKubeseal(cmd, s, getenv, f)
		}),
	}
	cmd.SetVersionTemplate("kubeseal version: {{.Version}}\n")
	cmd.CompletionOptions.DisableDefaultCmd = true
	fs := cmd.Flags()
	f.seal.register(fs)
	fs.BoolVar(&f.recoveryUnseal, "recovery-unseal", false, "decrypt SealedSecrets from standard input with --recovery-private-key (every document, not only the first)")
	fs.StringSliceVar(&f.recoveryKeys, "recovery-private-key", nil, "private key files for --recovery-unseal, comma separated or repeated: PEM or key Secret backups")
	fs.BoolVar(&f.fetchCert, "fetch-cert", false, "print the controller's sealing certificate")
	fs.BoolVar(&f.validate, "validate", false, "ask the controller whether each SealedSecret on the input opens")
	fs.BoolVar(&f.reEncrypt, "re-encrypt", false, "have the controller re-seal each SealedSecret on the input with its newest key")
	fs.BoolVar(&f.rotate, "rotate", false, "deprecated name of --re-encrypt")
	// Not MarkDeprecated: cobra would print the notice on standard output,
	// in the middle of a manifest.
	_ = fs.MarkHidden("rotate")
	fs.IntVarP(&f.verbosity, "v", "v", 0, "log verbosity (accepted for compatibility)")
	return cmd
}

func runKubeseal(cmd *cobra.Command, s Streams, getenv func(string) string, f *kubesealFlags) error {
	switch {
	case f.recoveryUnseal:
		if len(f.recoveryKeys) == 0 {
			return fmt.Errorf("--recovery-unseal needs --recovery-private-key FILE[,FILE...]")
		}
		return runUnseal(s, &unsealFlags{keys: f.recoveryKeys, format: f.seal.format, input: f.seal.input, output: f.seal.output})
	case f.fetchCert:
		b, _, err := f.seal.certPEM(cmd.Context(), getenv)
		if err != nil {
			return err
		}
		return writeOutput(s, f.seal.output, b, publicFile)
	case f.validate:
		return runValidate(cmd.Context(), s, getenv, &f.seal)
	case f.reEncrypt || f.rotate:
		if f.rotate {
			fmt.Fprintln(s.Err, "Flag --rotate has been deprecated, use --re-encrypt")
		}
		return runReencryptOnline(cmd.Context(), s, getenv, &f.seal)
	}
	return runSeal(cmd.Context(), s, getenv, &f.seal, cmd.Flags().Changed("format"))
}
