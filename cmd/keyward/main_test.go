package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/keyward/keyward/internal/cli"
)

func run(name string) func() {
	return func() {
		args := append([]string{name}, os.Args[1:]...)
		os.Exit(cli.Main(args, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv))
	}
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keyward":  run("keyward"),
		"kubeseal": run("kubeseal"),
		// kubectl runs `kubectl keyward ...` as kubectl-keyward on $PATH.
		"kubectl-keyward": run("kubectl-keyward"),
	})
}

// TestScripts runs the CLI stories in testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata"})
}
