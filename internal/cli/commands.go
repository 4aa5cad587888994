package cli

import "github.com/spf13/cobra"

// addCommands wires the pillar commands into the root. One line per command.
func addCommands(root *cobra.Command, s Streams, getenv func(string) string) {
	root.AddCommand(newScanCommand(s, getenv))
	root.AddCommand(newSealCommand(s, getenv))
	root.AddCommand(newUnsealCommand(s, getenv))
	root.AddCommand(newKeygenCommand(s, getenv))
	root.AddCommand(newCreateCommand(s, getenv))
	root.AddCommand(newReencryptCommand(s, getenv))
	root.AddCommand(newKeysCommand(s, getenv))
	root.AddCommand(newControllerCommand(s, getenv))
	root.AddCommand(newAuditCommand(s, getenv))
	root.AddCommand(newRotateCommand(s, getenv))
	root.AddCommand(newMigrateCommand(s, getenv))
	root.AddCommand(newServeUICommand(s, getenv))
}
