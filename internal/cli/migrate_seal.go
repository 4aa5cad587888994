package cli

import "github.com/spf13/cobra"

func newMigrateSealCommand(_ Streams, _ func(string) string, _ *migrateFlags, _ bool) *cobra.Command {
	return notYet("seal")
}
