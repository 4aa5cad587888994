package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/encryption"
)

// etcdFlags say how to reach etcd, as etcdctl's flags do.
type etcdFlags struct {
	endpoints             []string
	cacert, cert, key     string
	prefix, encryptionCfg string
	fix                   bool
}

func encryptionCheck(f *auditFlags) *auditCheck {
	e := &etcdFlags{}
	return &auditCheck{
		name:  "encryption",
		short: "Report whether etcd holds each Secret encrypted, and lint the EncryptionConfiguration",
		long: `Read etcd directly and report, for each Secret, whether its stored value is encrypted and by which
provider and key (the k8s:enc:PROVIDER:v1:KEY: envelope), or plaintext. Secrets written before
encryption at rest was turned on stay plaintext until rewritten; --fix rewrites them (and those
under an older key) through the API server, which stores them with its current write key, then
reads etcd again.

--encryption-config lints the API server's EncryptionConfiguration: identity first, Secrets not
covered, aescbc or aesgcm with one key (no rotation staged), KMS apiVersion v1, bad keys. With it,
Secrets under a key other than the write key are findings ("rewrite to rotate").

On kubeadm clusters etcd listens on https://127.0.0.1:2379 of a control-plane node and the
client certificates are /etc/kubernetes/pki/etcd/ca.crt and /etc/kubernetes/pki/apiserver-etcd-client.{crt,key}.
Values are never printed; only the envelope's provider and key name are read.`,
		example: `  keyward audit encryption --etcd-endpoint https://127.0.0.1:2379 \
      --etcd-cacert /etc/kubernetes/pki/etcd/ca.crt \
      --etcd-cert /etc/kubernetes/pki/apiserver-etcd-client.crt \
      --etcd-key /etc/kubernetes/pki/apiserver-etcd-client.key \
      --encryption-config /etc/kubernetes/enc/enc.yaml
  keyward audit encryption --encryption-config enc.yaml -o sarif
  keyward audit encryption --etcd-endpoint http://127.0.0.1:2379 -n payments --fix`,
		flags: func(fs *pflag.FlagSet) {
			fs.StringSliceVar(&e.endpoints, "etcd-endpoint", nil, "etcd client URL (repeatable or comma-separated)")
			fs.StringVar(&e.cacert, "etcd-cacert", "", "CA file that signed etcd's serving certificate")
			fs.StringVar(&e.cert, "etcd-cert", "", "client certificate file for etcd")
			fs.StringVar(&e.key, "etcd-key", "", "client key file for etcd")
			fs.StringVar(&e.prefix, "etcd-prefix", "/registry", "the API server's --etcd-prefix")
			fs.StringVar(&e.encryptionCfg, "encryption-config", "", "the API server's EncryptionConfiguration file (--encryption-provider-config) to lint")
			fs.BoolVar(&e.fix, "fix", false, "rewrite plaintext and old-key Secrets through the API server, then read etcd again")
		},
		skip: func() string {
			if len(e.endpoints) == 0 && e.encryptionCfg == "" {
				return "needs --etcd-endpoint (and --etcd-cacert, --etcd-cert, --etcd-key) or --encryption-config FILE"
			}
			return ""
		},
		run: func(ctx context.Context, env *auditEnv) (*audit.Result, error) {
			return runEncryption(ctx, env, e)
		},
	}
}

func runEncryption(ctx context.Context, env *auditEnv, e *etcdFlags) (*audit.Result, error) {
	if len(e.endpoints) == 0 && e.encryptionCfg == "" {
		return nil, errors.New("nothing to check: pass --etcd-endpoint URL (with --etcd-cacert, --etcd-cert and --etcd-key for a TLS etcd) to read what etcd holds, and/or --encryption-config FILE to lint the API server's EncryptionConfiguration")
	}
	if e.fix && len(e.endpoints) == 0 {
		return nil, errors.New("--fix needs --etcd-endpoint: it rewrites the Secrets etcd shows are plaintext or under an old key")
	}
	var cfg *encryption.Config
	var lint []audit.Finding
	if e.encryptionCfg != "" {
		var err error
		if cfg, lint, err = encryption.LintFile(e.encryptionCfg); err != nil {
			return nil, err
		}
	}
	if len(e.endpoints) == 0 {
		return encryption.Check(nil, cfg, lint), nil
	}
	etcd, err := e.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer etcd.Close()
	read := func() ([]encryption.Stored, error) {
		return encryption.Read(ctx, etcd, encryption.ReadOptions{
			Prefix: e.prefix, Namespace: env.flags.namespace,
			Progress: func(n int) { env.progress.Update("reading Secrets from etcd", n, 0) },
		})
	}
	stored, err := read()
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(e.endpoints, ","), err)
	}
	res := encryption.Check(stored, cfg, lint)
	if !e.fix {
		return res, nil
	}
	if cfg != nil && !cfg.Encrypts() {
		res.Notes = append(res.Notes, "--fix: nothing rewritten: "+cfg.File+" writes Secrets in plaintext, so rewriting would not encrypt them; fix the configuration first")
		return res, nil
	}
	rest, err := env.restConfig("")
	if err != nil {
		return nil, fmt.Errorf("--fix: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("--fix: %w", err)
	}
	n, fixErr := encryption.Fix(ctx, cs, res.Records.([]encryption.Record), func(done, total int) {
		env.progress.Update("rewriting Secrets", done, total)
	})
	if fixErr != nil {
		return nil, fmt.Errorf("--fix: %w", fixErr)
	}
	// Report what etcd holds now, so the table shows whether the
	// rewrite took.
	if stored, err = read(); err != nil {
		return nil, fmt.Errorf("etcd %s after --fix: %w", strings.Join(e.endpoints, ","), err)
	}
	res = encryption.Check(stored, cfg, lint)
	res.Notes = append([]string{fmt.Sprintf("--fix: rewrote %d Secret(s) through the API server; the table shows etcd after the rewrite", n)}, res.Notes...)
	return res, nil
}

// dial connects to etcd with the TLS files given; an https endpoint with
// none trusts the system's roots.
func (e *etcdFlags) dial(ctx context.Context) (*clientv3.Client, error) {
	var tlsCfg *tls.Config
	if e.cacert != "" || e.cert != "" || e.key != "" || hasHTTPS(e.endpoints) {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if (e.cert == "") != (e.key == "") {
		return nil, errors.New("--etcd-cert and --etcd-key go together: pass both or neither")
	}
	if e.cert != "" {
		pair, err := tls.LoadX509KeyPair(e.cert, e.key)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert %s, --etcd-key %s: %w", e.cert, e.key, err)
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	}
	if e.cacert != "" {
		pem, err := os.ReadFile(e.cacert)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-cacert %s: no PEM certificate in it", e.cacert)
		}
		tlsCfg.RootCAs = pool
	}
	return encryption.Dial(ctx, clientv3.Config{
		Endpoints:   e.endpoints,
		TLS:         tlsCfg,
		DialTimeout: 5 * time.Second,
		// Secrets are up to 1 MiB each and a page holds hundreds.
		MaxCallRecvMsgSize: 512 << 20,
	})
}

func hasHTTPS(endpoints []string) bool {
	for _, ep := range endpoints {
		if strings.HasPrefix(ep, "https://") {
			return true
		}
	}
	return false
}
