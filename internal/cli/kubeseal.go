package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newKubesealCommand is the command tree used when the binary runs as `kubeseal`.
func newKubesealCommand(s Streams, getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:           "kubeseal",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("kubeseal mode is not available in this build")
		},
	}
}
