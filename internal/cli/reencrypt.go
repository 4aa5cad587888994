package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controllerclient"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/reencrypt"
)

type reencryptFlags struct {
	certFlags
	privateKeys []string
	dryRun      bool
}

func newReencryptCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f reencryptFlags
	cmd := &cobra.Command{
		Use:   "reencrypt PATH...",
		Short: "Re-seal every SealedSecret in files or folders with the newest key",
		Long: `Reencrypt finds the SealedSecret manifests in the given files and
folders (YAML and JSON; hidden folders such as .git are skipped) and re-seals
their values with the controller's newest key, so old keys can be retired.
Only the ciphertext strings change: comments, order and other documents stay
as they are, and each file is rewritten atomically, only when all of its
SealedSecrets were re-sealed.

Online (the default), the controller does the work through the API server,
as kubeseal --re-encrypt does. Offline, give the private keys that open the
values (--private-key: PEM files or key Secret backups) and the certificate
to seal for (--cert); values already sealed for that certificate are left
untouched.`,
		Example: `  keyward reencrypt k8s/
  keyward reencrypt --private-key keys-backup.yaml --cert new-cert.pem k8s/overlays/production`,
		Args: cobra.MinimumNArgs(1),
		RunE: withEnv(getenv, func(cmd *cobra.Command, args []string) error {
			return runReencrypt(cmd.Context(), s, getenv, &f, args)
		}),
	}
	fs := cmd.Flags()
	f.certFlags.register(fs)
	fs.StringSliceVar(&f.privateKeys, "private-key", nil, "re-seal offline with these private keys (PEM or key Secret backups; needs --cert)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "report what would change, write nothing")
	return cmd
}

func runReencrypt(ctx context.Context, s Streams, getenv func(string) string, f *reencryptFlags, paths []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var r reencrypt.Resealer
	if len(f.privateKeys) > 0 {
		if f.cert == "" {
			return errors.New("offline re-encryption (--private-key) needs --cert: the certificate to seal for")
		}
		priv, err := keys.ReadPrivateKeyFiles(f.privateKeys)
		if err != nil {
			return err
		}
		pub, err := f.publicKey(ctx, getenv)
		if err != nil {
			return err
		}
		r = reencrypt.Offline{Keys: priv, Target: pub}
	} else {
		client, err := f.controller.client(getenv, f.kubeconfig, f.context)
		if err != nil {
			return fmt.Errorf("re-encrypting through the controller (or pass --private-key and --cert to work offline): %w", err)
		}
		r = onlineResealer{client}
	}
	progress := terminalProgress(s, getenv, "re-encrypting")
	st, err := reencrypt.Tree(ctx, paths, r, reencrypt.Options{DryRun: f.dryRun, Progress: progress})
	if progress != nil {
		fmt.Fprint(s.Err, "\r\x1b[K")
	}
	verb := "re-sealed"
	if f.dryRun {
		verb = "would re-seal"
	}
	fmt.Fprintf(s.Err, "%s %d values in %d of %d files (%d SealedSecrets)\n", verb, st.Values, st.Changed, st.Files, st.SealedSecrets)
	return err
}

// onlineResealer asks the controller's /v1/rotate.
type onlineResealer struct{ c *controllerclient.Client }

func (o onlineResealer) Reseal(ctx context.Context, _ *ssv1.SealedSecret, raw []byte) (*ssv1.SealedSecret, error) {
	body, err := o.c.Rotate(ctx, raw)
	if err != nil {
		return nil, err
	}
	var out ssv1.SealedSecret
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, errors.New("the controller answered with something that is not a SealedSecret")
	}
	return &out, nil
}

// terminalProgress returns a progress callback that redraws one status line
// when standard error is a terminal, and nil otherwise (pipes, CI logs).
func terminalProgress(s Streams, getenv func(string) string, what string) func(done, total int) {
	if !isTerminal(s.Err, getenv) {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(s.Err, "\r\x1b[K%s: %d/%d files", what, done, total)
	}
}
