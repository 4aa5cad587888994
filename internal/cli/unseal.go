package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

type unsealFlags struct {
	keys   []string
	format string
	input  string
	output string
}

func newUnsealCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f unsealFlags
	cmd := &cobra.Command{
		Use:   "unseal",
		Short: "Decrypt SealedSecrets offline with private keys (recovery)",
		Long: `Unseal decrypts every SealedSecret on standard input (kubeseal
--recovery-unseal only does the first) and prints each Secret as the
controller would build it. Keys are PEM files (PKCS#1 or PKCS#8) or
backups of the controller's key Secrets (a Secret, several, or a List with
tls.key items). The output holds plaintext: -w writes it with mode 0600.`,
		Example: `  kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml > keys-backup.yaml
  keyward unseal --private-key keys-backup.yaml -o yaml < sealed-db.yaml`,
		Args: cobra.NoArgs,
		RunE: withEnv(getenv, func(_ *cobra.Command, _ []string) error {
			return runUnseal(s, &f)
		}),
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&f.keys, "private-key", nil, "private key files, comma separated or repeated: PEM keys or key Secret backups")
	fs.StringVarP(&f.format, "format", "o", "json", "output format: json or yaml")
	fs.StringVarP(&f.input, "sealed-secret-file", "f", "", "read SealedSecrets from this file instead of standard input")
	fs.StringVarP(&f.output, "output-file", "w", "", "write the Secrets to this file (mode 0600), atomically and only on success")
	return cmd
}

// runUnseal unseals every document of the input; any failure means no
// output at all.
func runUnseal(s Streams, f *unsealFlags) error {
	format, err := sealing.ParseFormat(f.format)
	if err != nil {
		return err
	}
	if len(f.keys) == 0 {
		return errors.New("no private key: pass --private-key FILE[,FILE...]")
	}
	privs, err := keys.ReadPrivateKeyFiles(f.keys)
	if err != nil {
		return err
	}
	in, done, err := openInput(s, f.input)
	if err != nil {
		return err
	}
	defer done()
	sealed, err := sealing.ReadSealedSecrets(in)
	if err != nil {
		return err
	}
	objs := make([]any, 0, len(sealed))
	for _, ss := range sealed {
		sec, err := sealing.Unseal(ss, privs)
		if err != nil {
			return err
		}
		objs = append(objs, sec)
	}
	if f.output != "" {
		format = sealing.FormatForFile(f.output, format)
	}
	out, err := sealing.Encode(format, objs...)
	if err != nil {
		return err
	}
	return writeOutput(s, f.output, out, privateFile)
}
