// Command devcluster runs the local Kubernetes control plane that the tests
// use (etcd, kube-apiserver with RBAC, kube-controller-manager) for demos and
// manual work. With a command after `--` it runs that command against the
// cluster (KUBECONFIG set) and stops the cluster when the command ends;
// without one it serves until interrupted. With --node it also starts a node
// that runs Pods (kubelet, containerd, runc, kube-proxy; needs root), into
// which --image loads images, as no registry is reachable.
//
//	go run ./hack/devcluster -- kubectl get namespaces
//	go run ./hack/devcluster --node --image bin/oci -- kubectl apply --server-side -f deploy/keyward.yaml
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
	node := flags.Bool("node", false, "start a node that runs Pods (needs root; the first run builds it with hack/nodetools/build.sh)")
	var images []string
	flags.Func("image", "an OCI image layout (folder or tarball, as `make image` writes bin/oci) to load into the node (repeatable; implies --node)", func(v string) error {
		images = append(images, v)
		return nil
	})
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: devcluster [--write-kubeconfig PATH] [--node] [--image PATH]... [-- COMMAND ARGS...]\n")
		flags.PrintDefaults()
	}
	_ = flags.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	*node = *node || len(images) > 0
	if *node {
		fmt.Fprintln(os.Stderr, "devcluster: starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a node (first run builds them)")
	} else {
		fmt.Fprintln(os.Stderr, "devcluster: starting etcd, kube-apiserver and kube-controller-manager (first run builds them)")
	}
	c, err := testcluster.Start(ctx, testcluster.Options{Node: *node})
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		return 1
	}
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "devcluster: up in %s at %s\n", time.Since(start).Round(time.Millisecond), c.Config.Host)

	var env []string
	if c.Node != nil {
		for _, img := range images {
			if err := c.Node.ImportImage(ctx, img); err != nil {
				fmt.Fprintln(os.Stderr, "devcluster:", err)
				return 1
			}
			fmt.Fprintf(os.Stderr, "devcluster: loaded %s into node %s\n", img, c.Node.Name)
		}
		// Where Pods reach this machine: a server for them listens here.
		env = append(env, "KEYWARD_NODE_HOST_IP="+c.Node.HostIP.String())
		fmt.Fprintf(os.Stderr, "devcluster: node %s Ready; Pods reach this machine at %s\n", c.Node.Name, c.Node.HostIP)
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
	cmd.Env = append(append(os.Environ(), env...), "KUBECONFIG="+path, "PATH="+c.AssetsDir+string(os.PathListSeparator)+os.Getenv("PATH"))
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
