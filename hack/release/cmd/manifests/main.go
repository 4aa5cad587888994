// Command manifests writes deploy/keyward.yaml from the kustomize bases.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyward/keyward/hack/release/manifests"
)

func main() {
	root := flag.String("root", "../..", "the repository root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "manifests:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	out, err := manifests.Install(root)
	if err != nil {
		return err
	}
	path := filepath.Join(root, "deploy", "keyward.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
