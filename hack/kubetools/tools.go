//go:build tools

// Package kubetools pins the Kubernetes and etcd releases whose binaries the
// integration tests run against. hack/kubetools/build.sh builds them; the
// test node's kubelet, kube-scheduler and kube-proxy are built from this module
// by hack/nodetools/build.sh.
package kubetools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
