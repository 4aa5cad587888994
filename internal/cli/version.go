package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/version"
)

func newVersionCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			printVersion(s.Out)
			return nil
		},
	}
}

// printVersion writes what `keyward version` (and `keyward controller
// --version`) prints.
func printVersion(w io.Writer) {
	info := version.Get()
	fmt.Fprintf(w, "keyward %s\ncommit: %s\ngo: %s\n", info.Version, info.Commit, info.GoVersion)
}
