package cli

import "github.com/spf13/cobra"

func newMigratePushCommand(_ Streams, _ func(string) string, _ *migrateFlags, _ bool) *cobra.Command {
	return notYet("push")
}
