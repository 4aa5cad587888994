// Package e2e holds scenarios that run against a real kube-apiserver, etcd and
// kube-controller-manager, started once for the package.
package e2e

import (
	"os"
	"testing"

	testcluster "github.com/keyward/keyward/test/cluster"
)

var cluster *testcluster.Cluster

// stopAtEnd stops what runs for the whole package (the shared
// ExternalSecret controllers) before the cluster stops.
var stopAtEnd []func()

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{BeforeStop: func() {
		for _, stop := range stopAtEnd {
			stop()
		}
	}}, &cluster))
}
