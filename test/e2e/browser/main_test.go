// Package browser seals in the sealing page, in headless chromium, against
// a real controller behind the real API server's service proxy, reached
// the way a user would: through `kubectl proxy`.
package browser

import (
	"os"
	"testing"

	testcluster "github.com/keyward/keyward/test/cluster"
)

var cluster *testcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{}, &cluster))
}
