package audit

// What the age, reuse and exposure tests share: they run on the package's
// plain cluster (main_test.go), each in namespaces of its own.

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/keyward/keyward/internal/cli"
	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/leak"
)

// earNamespace makes a namespace named prefix-XXXXX.
func earNamespace(ctx context.Context, t *testing.T, c *testcluster.Cluster, prefix string) string {
	t.Helper()
	name := prefix + "-" + rand.String(5)
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// earRun runs keyward in-process with env (KUBECONFIG and HOME default to
// the cluster's and a fresh folder) and returns exit code, stdout, stderr.
func earRun(t *testing.T, c *testcluster.Cluster, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	full := map[string]string{"KUBECONFIG": c.Kubeconfig, "HOME": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	var out, errOut bytes.Buffer
	start := time.Now()
	code := cli.Main(append([]string{"keyward"}, args...), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		func(k string) string { return full[k] })
	t.Logf("keyward %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return code, out.String(), errOut.String()
}

// earJSON decodes a check's -o json output.
func earJSON[T any](t *testing.T, stdout, stderr string) []T {
	t.Helper()
	var recs []T
	if err := json.Unmarshal([]byte(stdout), &recs); err != nil {
		t.Fatalf("output is not a JSON list: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	return recs
}

// earNoLeak fails for every planted value found, in any form, in outputs.
func earNoLeak(t *testing.T, values []string, outputs ...string) {
	t.Helper()
	all := strings.Join(outputs, "\n")
	for _, v := range values {
		for _, f := range leak.In(all, v) {
			t.Errorf("output holds a planted value as %s", f.Name)
		}
	}
}

func earContains(s, sub string) bool { return strings.Contains(s, sub) }
