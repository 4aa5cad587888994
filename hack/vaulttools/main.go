// Command vault is HashiCorp Vault v1.14.2's own CLI entry point, built from
// the Go module proxy so that tests run a real Vault server on loopback.
// build.sh builds it; nothing of Vault's code lives in this repository.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }
