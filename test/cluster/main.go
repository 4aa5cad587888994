package testcluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Main is the body of a test package's TestMain: it starts one cluster for
// the whole package, hands it to set, runs the tests and stops the cluster.
// A cluster that cannot start fails the package (exit code 1) with the reason.
//
//	var cluster *testcluster.Cluster
//	func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{}, &cluster)) }
func Main(m *testing.M, opts Options, set **Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: test cluster did not start: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "testcluster: up in %s at %s\n", time.Since(start).Round(time.Millisecond), c.Config.Host)
	*set = c
	code := m.Run()
	if opts.BeforeStop != nil {
		opts.BeforeStop()
	}
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
	}
	return code
}
