// Command devcluster runs the local Kubernetes control plane that the tests
// use (etcd, kube-apiserver with RBAC, kube-controller-manager) for demos and
// manual work. With a command after `--` it runs that command against the
// cluster (KUBECONFIG set) and stops the cluster when the command ends;
// without one it serves until interrupted.
//
//	go run ./hack/devcluster -- kubectl get namespaces
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	testcluster "github.com/keyward/keyward/test/cluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	// Our own flag set: controller-runtime registers --kubeconfig on the global one.
	flags := flag.NewFlagSet("devcluster", flag.ExitOnError)
	kubeconfig := flags.String("write-kubeconfig", "", "also copy the admin kubeconfig to this path")
	var exposes []string
	flags.Func("expose", "NAMESPACE/SERVICE=HOST:PORT: reach a local server through the API server's service proxy as that Service (repeatable; needs root)", func(v string) error {
		exposes = append(exposes, v)
		return nil
	})
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: devcluster [--write-kubeconfig PATH] [--expose NS/SVC=HOST:PORT]... [-- COMMAND ARGS...]\n")
		flags.PrintDefaults()
	}
	_ = flags.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	fmt.Fprintln(os.Stderr, "devcluster: starting etcd, kube-apiserver and kube-controller-manager (first run builds them)")
	c, err := testcluster.Start(ctx, testcluster.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		return 1
	}
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "devcluster: up in %s at %s\n", time.Since(start).Round(time.Millisecond), c.Config.Host)

	for _, e := range exposes {
		svc, target, ok := strings.Cut(e, "=")
		ns, name, ok2 := strings.Cut(svc, "/")
		if !ok || !ok2 {
			fmt.Fprintf(os.Stderr, "devcluster: --expose %q: want NAMESPACE/SERVICE=HOST:PORT\n", e)
			return 2
		}
		stopExpose, err := c.ExposeService(ctx, ns, name, target)
		if err != nil {
			fmt.Fprintln(os.Stderr, "devcluster:", err)
			return 1
		}
		defer stopExpose()
	}

	path := c.Kubeconfig
	if *kubeconfig != "" {
		data, err := os.ReadFile(c.Kubeconfig)
		if err == nil {
			err = os.WriteFile(*kubeconfig, data, 0o600)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "devcluster: writing kubeconfig:", err)
			return 1
		}
		path, _ = filepath.Abs(*kubeconfig)
	}

	if flags.NArg() == 0 {
		fmt.Fprintf(os.Stderr, "devcluster: export KUBECONFIG=%s\ndevcluster: Ctrl-C stops the cluster\n", path)
		<-ctx.Done()
		return 0
	}
	cmd := exec.CommandContext(ctx, flags.Arg(0), flags.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The cluster's binaries (kubectl among them) come first on PATH.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+path, "PATH="+c.AssetsDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		return 1
	}
	return 0
}
