package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
	"github.com/keyward/keyward/internal/audit/reuse"
)

func reuseCheck(f *auditFlags) *auditCheck {
	var keyFile string
	return &auditCheck{
		name:  "reuse",
		short: "Find the same Secret value in several namespaces or clusters",
		long: `Find Secret values held in more than one namespace, or in more than one cluster when
--context is given several times. Values are compared by HMAC-SHA256 under a 32-byte key this
tool makes on first use and keeps (--hmac-key, default $XDG_CONFIG_HOME/keyward/audit.key or
~/.config/keyward/audit.key, mode 0600); neither values nor hashes are ever printed.

One record per group of Secret keys sharing a value. Severity: high when the group spans
clusters or namespaces named for different environments (prod, staging, dev, test, ...),
medium otherwise. Values shorter than 8 bytes, ca.crt keys, service-account-token and Helm
release Secrets are left out.

Reads Secrets with their values.`,
		example: `  keyward audit reuse
  keyward audit reuse --context staging --context production -o json`,
		need: inventory.SecretValues,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&keyFile, "hmac-key", "", "file of the HMAC key values are compared under, made on first use (default $XDG_CONFIG_HOME/keyward/audit.key)")
		},
		run: func(ctx context.Context, env *auditEnv) (*audit.Result, error) {
			path := keyFile
			if path == "" {
				var err error
				if path, err = reuse.DefaultKeyPath(env.getenv); err != nil {
					return nil, err
				}
			}
			key, err := reuse.LoadOrCreateKey(path)
			if err != nil {
				return nil, err
			}
			first, err := env.snapshot(ctx)
			if err != nil {
				return nil, err
			}
			// One context (or none) reads as one cluster, unnamed; several
			// are each named in the records.
			inputs := []reuse.Input{{Snapshot: first}}
			if len(f.contexts) > 1 {
				inputs[0].Context = f.contexts[0]
				for _, c := range f.contexts[1:] {
					snap, err := env.load(ctx, c, inventory.SecretValues)
					if err != nil {
						return nil, fmt.Errorf("context %s: %w", c, err)
					}
					inputs = append(inputs, reuse.Input{Context: c, Snapshot: snap})
				}
			}
			return reuse.Check(inputs, reuse.Options{Key: key})
		},
	}
}
