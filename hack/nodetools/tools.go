//go:build tools

// Package nodetools pins the container runtime the test node runs Pods with:
// containerd, its ctr client and the runc shim. hack/nodetools/build.sh
// builds them; the node's kubelet, kube-scheduler and kube-proxy come from
// hack/kubetools, at the control plane's Kubernetes release.
package nodetools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
