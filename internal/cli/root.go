// Package cli holds keyward's cobra commands, one file per command. Commands
// are thin: they parse flags, call a package that does the work, and print.
package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// Streams are the standard streams a command reads and writes. Commands never
// touch os.Stdin/os.Stdout directly, so tests can run them in-process.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// ExitError carries a specific exit code out of a command (for example `scan`
// exits 1 on findings, 2 on errors).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Main runs keyward with the given arguments (args[0] is the program name) and
// returns the process exit code. Invoked under the name `kubeseal`, the binary
// speaks kubeseal's flags instead of keyward's subcommands; under the name
// `kubectl-keyward` it is the kubectl plugin `kubectl keyward`.
func Main(args []string, s Streams, getenv func(string) string) int {
	var cmd *cobra.Command
	switch programName(args[0]) {
	case "kubeseal":
		cmd = newKubesealCommand(s, getenv)
	case "kubectl-keyward":
		cmd = NewRootCommand(s, getenv)
		// Help, usage and completion then say `kubectl keyward`.
		cmd.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl keyward"}
	default:
		cmd = NewRootCommand(s, getenv)
	}
	cmd.SetArgs(args[1:])
	cmd.SetIn(s.In)
	cmd.SetOut(s.Out)
	cmd.SetErr(s.Err)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(s.Err, "error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(s.Err, "error: %v\n", err)
	return 1
}

// programName is the name the binary was invoked under, without a
// directory or Windows' .exe.
func programName(arg0 string) string {
	return strings.TrimSuffix(filepath.Base(arg0), ".exe")
}

// NewRootCommand builds the `keyward` command tree. Every command is wired here
// explicitly; nothing registers itself.
func NewRootCommand(s Streams, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyward",
		Short: "Production secrets for Kubernetes: seal, sync, scan",
		Long: `Keyward keeps a team's Kubernetes secrets safe from Git to production.

  Seal for GitOps     seal, unseal, create secret, keygen, keys, reencrypt: SealedSecrets
                      compatible with Bitnami Sealed Secrets (the binary also answers as 'kubeseal')
  Sync from stores    controller: ExternalSecrets compatible with the External Secrets Operator,
                      from Vault, AWS, GCP, Azure and Kubernetes
  Scan                scan: leaked credentials and plaintext Secret manifests in files and history`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// `keyward completion bash|zsh|fish|powershell` prints a completion script.
	root.AddCommand(
		newVersionCommand(s),
	)
	addCommands(root, s, getenv)
	return root
}
