package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
)

type keygenFlags struct {
	size        int
	ttl         time.Duration
	cn          string
	namespace   string
	name        string
	labels      string
	annotations string
	certOut     string
	format      string
	output      string
}

func newKeygenCommand(s Streams, getenv func(string) string) *cobra.Command {
	var f keygenFlags
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a sealing key pair offline: a certificate and a key Secret",
		Long: `Keygen makes the key pair a controller would make: an RSA key and a
self-signed certificate. The certificate (public, for sealing) goes to
--cert-out; the key, as a key Secret manifest labelled active for the
controller's namespace, goes to standard output or -w (mode 0600).
Apply it before the controller starts and the controller uses it instead of
generating its own, so Secrets can be sealed before the cluster exists.`,
		Example: `  keyward keygen --cert-out pub-cert.pem -w sealing-key.yaml
  kubectl apply -f sealing-key.yaml`,
		Args: cobra.NoArgs,
		RunE: withEnv(getenv, func(_ *cobra.Command, _ []string) error {
			return runKeygen(s, &f)
		}),
	}
	fs := cmd.Flags()
	fs.IntVar(&f.size, "key-size", keys.DefaultKeySize, "RSA key size: 2048, 3072 or 4096")
	fs.DurationVar(&f.ttl, "key-ttl", keys.DefaultTTL, "certificate validity")
	fs.StringVar(&f.cn, "my-cn", "", "certificate common name (empty gives an empty subject, as the controller)")
	fs.StringVarP(&f.namespace, "namespace", "n", keys.DefaultNamespace, "the controller's namespace")
	fs.StringVar(&f.name, "name", "", "key Secret name (default: "+keys.DefaultKeyPrefix+" plus five random characters)")
	fs.StringVar(&f.labels, "privatekey-labels", "", "extra labels for the key Secret, k=v,k=v")
	fs.StringVar(&f.annotations, "privatekey-annotations", "", "annotations for the key Secret, k=v,k=v")
	fs.StringVar(&f.certOut, "cert-out", "", "write the certificate PEM to this file (required)")
	fs.StringVarP(&f.format, "format", "o", "yaml", "key Secret format: yaml or json")
	fs.StringVarP(&f.output, "output-file", "w", "", "write the key Secret to this file (mode 0600) instead of standard output")
	return cmd
}

func runKeygen(s Streams, f *keygenFlags) error {
	if f.certOut == "" {
		return errors.New("--cert-out FILE is required: the certificate is what people seal with")
	}
	format, err := sealing.ParseFormat(f.format)
	if err != nil {
		return err
	}
	labels, err := parseKV("--privatekey-labels", f.labels)
	if err != nil {
		return err
	}
	annotations, err := parseKV("--privatekey-annotations", f.annotations)
	if err != nil {
		return err
	}
	if f.namespace == "" {
		return errors.New("--namespace must name the controller's namespace")
	}
	name := f.name
	if name == "" {
		name = keys.RandomName(keys.DefaultKeyPrefix)
	}
	pair, err := keys.Generate(f.size, f.cn, f.ttl, time.Now())
	if err != nil {
		return err
	}
	if f.output != "" {
		format = sealing.FormatForFile(f.output, format)
	}
	manifest, err := sealing.Encode(format, pair.Secret(f.namespace, name, labels, annotations))
	if err != nil {
		return err
	}
	// The certificate first: a key Secret without its certificate is of no
	// use, and a stray certificate is harmless.
	if err := writeFileAtomic(f.certOut, pair.CertPEM(), publicFile); err != nil {
		return err
	}
	if err := writeOutput(s, f.output, manifest, privateFile); err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "keygen: RSA-%d key %s/%s, certificate %s valid until %s, fingerprint %s\n",
		f.size, f.namespace, name, f.certOut, pair.Cert.NotAfter.UTC().Format(time.RFC3339), keys.Fingerprint(&pair.Key.PublicKey))
	return nil
}

// parseKV reads a k=v,k=v list as the controller's --privatekey-labels.
func parseKV(flag, s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: %q is not key=value", flag, part)
		}
		out[k] = v
	}
	return out, nil
}
