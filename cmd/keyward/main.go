// Command keyward is the Keyward CLI and controller. Linked or copied under
// the name `kubeseal`, it accepts kubeseal's flags.
package main

import (
	"os"

	"github.com/keyward/keyward/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv))
}
