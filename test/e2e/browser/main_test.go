// Package browser seals in the sealing page, in headless chromium, against
// a real controller behind the real API server's service proxy, reached
// the way a user would: through `kubectl proxy`.
package browser

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	testcluster "github.com/keyward/keyward/test/cluster"
)

var cluster *testcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{Scheme: scheme()}, &cluster))
}

// scheme adds SealedSecrets to client-go's types, for cluster.Client.
func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := ssv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
