// Package audit runs `keyward audit` against the real test control plane. Its
// checks need clusters started with different API server flags (an
// EncryptionConfiguration, an audit policy), so each test file starts the
// cluster it needs rather than one for the package.
package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/keyward/keyward/internal/cli"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/leak"
)

// plain is the cluster with no special flags that several tests share,
// started by the first that asks.
var plain struct {
	once    sync.Once
	cluster *testcluster.Cluster
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if plain.cluster != nil {
		if err := plain.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the test cluster:", err)
		}
	}
	os.Exit(code)
}

// plainCluster returns the shared cluster. Tests using it keep to
// namespaces of their own.
func plainCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	plain.once.Do(func() {
		plain.cluster, plain.err = testcluster.Start(context.Background(), testcluster.Options{NoControllerManager: true})
	})
	if plain.err != nil {
		t.Fatal(plain.err)
	}
	return plain.cluster
}

// result is one run of the keyward command line.
type result struct {
	code        int
	stdout      string
	stderr      string
	commandLine string
}

// keyward runs the command line in-process, as `keyward args...`, with a
// home folder of the test's own (where reuse keeps its HMAC key).
func keyward(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	home := t.TempDir()
	code := cli.Main(append([]string{"keyward"}, args...), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		func(name string) string {
			if name == "HOME" {
				return home
			}
			return ""
		})
	return result{code: code, stdout: out.String(), stderr: errOut.String(), commandLine: strings.Join(args, " ")}
}

// noLeak fails t when any output of r holds value in any encoding.
func noLeak(t *testing.T, r result, values ...string) {
	t.Helper()
	for _, v := range values {
		for _, f := range leak.In(r.stdout+r.stderr, v) {
			t.Errorf("keyward %s: output holds a planted value (%s)", r.commandLine, f.Name)
		}
	}
}

// writeKubeconfig writes cfg (a bearer token connection) as a kubeconfig.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testcluster.WriteKubeconfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

func background(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
