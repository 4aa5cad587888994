package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/keyward/keyward/internal/atomicfile"
)

// Shared plumbing of the sealing commands (seal, unseal, create secret,
// keygen and the kubeseal personality): where certificates, keys and input
// come from, where output goes, and kubeseal's environment variables.

// applyEnv sets every flag not given on the command line from
// SEALED_SECRETS_<FLAG_NAME> (upper case, dashes as underscores), as
// kubeseal does. The command line wins.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "SEALED_SECRETS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s: %w", name, e)
			}
		}
	})
	return err
}

// withEnv runs run after applyEnv, for commands that take kubeseal's
// environment variables.
func withEnv(getenv func(string) string, run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := applyEnv(cmd.Flags(), getenv); err != nil {
			return err
		}
		return run(cmd, args)
	}
}

// readCertBytes loads a certificate from a file path or an http(s) or file
// URL, as kubeseal's --cert takes it.
func readCertBytes(ctx context.Context, src string) ([]byte, error) {
	u, err := url.Parse(src)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // a plain path (or a Windows drive letter)
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("reading certificate: %w", err)
		}
		return b, nil
	}
	switch u.Scheme {
	case "file":
		b, err := os.ReadFile(u.Path)
		if err != nil {
			return nil, fmt.Errorf("reading certificate: %w", err)
		}
		return b, nil
	case "http", "https":
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetching certificate: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetching certificate %s: %s", src, resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("fetching certificate %s: %w", src, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("certificate %s: unsupported URL scheme %q (use a path, file://, http:// or https://)", src, u.Scheme)
}

// openInput is the file named by -f, or standard input.
func openInput(s Streams, path string) (io.Reader, func(), error) {
	if path == "" || path == "-" {
		return s.In, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading input: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// Modes for writeOutput and writeFileAtomic. A private file (plaintext
// Secrets, private keys, unredacted reports) always ends up with exactly
// privateFile; a public one (certificates, sealed manifests) keeps the mode
// of the file it replaces.
const (
	privateFile os.FileMode = 0o600
	publicFile  os.FileMode = 0o644
)

// writeOutput writes the whole output at once, to standard output or
// atomically to path, so a failure never leaves a half-written manifest
// behind.
func writeOutput(s Streams, path string, b []byte, mode os.FileMode) error {
	if path == "" || path == "-" {
		_, err := s.Out.Write(b)
		return err
	}
	return writeFileAtomic(path, b, mode)
}

// writeFileAtomic replaces path with b: a private file ends with exactly
// privateFile even over a wider one, a public one keeps the mode of the
// file it replaces.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	if mode == privateFile {
		return atomicfile.Write(path, b, mode)
	}
	return atomicfile.WriteKeepMode(path, b, mode)
}

// kubeconfigNamespace is the namespace of the kubeconfig context in use
// (--context, else current-context), read from --kubeconfig, $KUBECONFIG or
// ~/.kube/config without contacting a cluster. As with kubectl, a context
// without a namespace means "default"; no kubeconfig at all means none.
func kubeconfigNamespace(getenv func(string) string, kubeconfig, context string) (string, error) {
	var paths []string
	switch {
	case kubeconfig != "":
		paths = []string{kubeconfig}
	case getenv("KUBECONFIG") != "":
		paths = filepath.SplitList(getenv("KUBECONFIG"))
	case getenv("HOME") != "":
		paths = []string{filepath.Join(getenv("HOME"), ".kube", "config")}
	}
	type kctx struct {
		Name    string `json:"name"`
		Context struct {
			Namespace string `json:"namespace"`
		} `json:"context"`
	}
	var contexts []kctx
	current := context
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && kubeconfig == "" {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading kubeconfig: %w", err)
		}
		var cfg struct {
			CurrentContext string `json:"current-context"`
			Contexts       []kctx `json:"contexts"`
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			return "", fmt.Errorf("kubeconfig %s is not valid YAML", p)
		}
		if current == "" {
			current = cfg.CurrentContext
		}
		contexts = append(contexts, cfg.Contexts...)
	}
	if current == "" {
		return "", nil
	}
	for _, c := range contexts {
		if c.Name == current {
			if c.Context.Namespace == "" {
				return "default", nil
			}
			return c.Context.Namespace, nil
		}
	}
	if context != "" {
		return "", fmt.Errorf("kubeconfig has no context %q", context)
	}
	return "", nil
}
