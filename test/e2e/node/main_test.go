// Package node runs Keyward's install for real: deploy/keyward.yaml and the
// Helm chart applied as a user applies them, on the test cluster's node
// (kubelet, containerd, runc, the CNI bridge and kube-proxy), with the image
// `make image` builds. The controller runs as Pods under the shipped
// ServiceAccount through the in-cluster config; kubeseal reaches it through
// the API server's service proxy and the real Service.
package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	testcluster "github.com/keyward/keyward/test/cluster"
)

var cluster *testcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testcluster.Main(m, testcluster.Options{Node: true}, &cluster))
}

// image is the controller image, built once and imported into the node.
var image struct {
	once sync.Once
	err  error
	ref  string
}

// loadImage builds the image under the reference deploy/keyward.yaml
// names (the manifest is applied unchanged) and imports it into the node.
func loadImage(t *testing.T) {
	t.Helper()
	image.once.Do(func() {
		image.ref, image.err = manifestImage()
		if image.err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "keyward-image-")
		if err != nil {
			image.err = err
			return
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		layout, err := testcluster.BuildImage(dir, image.ref)
		if err != nil {
			image.err = err
			return
		}
		// Its blobs, compressed, are what a registry stores and a node pulls.
		size, err := blobBytes(layout)
		if err != nil {
			image.err = err
			return
		}
		image.err = cluster.Node.ImportImage(context.Background(), layout)
		fmt.Fprintf(os.Stderr, "node: image %s (%.1f MiB of blobs) built and imported in %s\n",
			image.ref, float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
	})
	if image.err != nil {
		t.Fatal(image.err)
	}
}

func manifestImage() (string, error) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "keyward.yaml"))
	if err != nil {
		return "", err
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var obj struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct{ Image string }
					}
				}
			}
		}
		if yaml.Unmarshal(doc, &obj) == nil && obj.Kind == "Deployment" && len(obj.Spec.Template.Spec.Containers) > 0 {
			return obj.Spec.Template.Spec.Containers[0].Image, nil
		}
	}
	return "", fmt.Errorf("deploy/keyward.yaml has no Deployment with a container image")
}

func blobBytes(layout string) (int64, error) {
	var total int64
	entries, err := os.ReadDir(filepath.Join(layout, "blobs", "sha256"))
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return 0, err
		}
		total += info.Size()
	}
	return total, nil
}

// kubectl runs the cluster's kubectl as the admin, with stdin when given.
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(cluster.AssetsDir, "kubectl"), append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// eventually polls f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
