// Package generated checks that the checked-in generated files (deepcopy code
// and CRD manifests) are what `make generate` makes from api/ today.
package generated

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Keep in step with the Makefile's CONTROLLER_GEN.
const controllerGen = "sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0"

func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// Generate into a copy of the module, so a stale file shows as a diff
	// instead of being silently rewritten.
	work := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(work, f))
	}
	copyTree(t, filepath.Join(root, "api"), filepath.Join(work, "api"), func(string) bool { return true })
	for _, args := range [][]string{
		{"object", "paths=./api/..."},
		{"crd", "paths=./api/...", "output:crd:dir=deploy/crds"},
	} {
		cmd := exec.Command("go", append([]string{"run", controllerGen}, args...)...)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("controller-gen %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	compare(t, filepath.Join(work, "api"), filepath.Join(root, "api"), isDeepcopy)
	compare(t, filepath.Join(work, "deploy", "crds"), filepath.Join(root, "deploy", "crds"), isGenerated)
}

// isGenerated leaves out the hand-written kustomization next to the CRDs.
func isGenerated(path string) bool { return filepath.Base(path) != "kustomization.yaml" }

// rbacPillars are the controller-gen rbac runs of the Makefile's generate
// target: each pillar's role from the kubebuilder markers of its packages.
var rbacPillars = []struct{ role, dir, paths string }{
	{"keyward-sealed-secrets", "deploy/components/sealed-secrets",
		"paths=./internal/controller/sealedsecret paths=./internal/keys"},
	{"keyward-external-secrets", "deploy/components/external-secrets",
		"paths=./internal/controller/externalsecret paths=./internal/controller/secretstore paths=./internal/controller/clusterexternalsecret paths=./internal/controller/pushsecret paths=./internal/controller/storeref paths=./internal/provider"},
	{"keyward-audit", "deploy/components/audit", "paths=./internal/controller/auditrun"},
	{"keyward-reload", "deploy/components/reload", "paths=./internal/controller/reload"},
}

// TestRBACIsCurrent checks that each pillar's role.yaml is what the
// controllers' markers generate today, so a new API call without a marker
// (or a stale file) fails here and not in a cluster.
func TestRBACIsCurrent(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rbacPillars {
		t.Run(p.role, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"run", controllerGen, "rbac:roleName=" + p.role}, strings.Fields(p.paths)...)
			cmd := exec.Command("go", append(args, "output:rbac:dir="+out)...)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("controller-gen rbac: %v\n%s", err, b)
			}
			compare(t, out, filepath.Join(root, p.dir), func(path string) bool { return filepath.Base(path) == "role.yaml" })
		})
	}
}

func isDeepcopy(path string) bool { return filepath.Base(path) == "zz_generated.deepcopy.go" }

// compare fails for every file selected by keep that differs between the
// fresh and the checked-in tree, or exists in only one of them.
func compare(t *testing.T, fresh, checkedIn string, keep func(string) bool) {
	t.Helper()
	want := readTree(t, fresh, keep)
	got := readTree(t, checkedIn, keep)
	for name, data := range want {
		have, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s is missing: run make generate", filepath.Join(checkedIn, name))
		case !bytes.Equal(have, data):
			t.Errorf("%s is stale: run make generate", filepath.Join(checkedIn, name))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is no longer generated from api/: delete it", filepath.Join(checkedIn, name))
		}
	}
}

func readTree(t *testing.T, dir string, keep func(string) bool) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !keep(path) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = data
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func copyTree(t *testing.T, from, to string, keep func(string) bool) {
	t.Helper()
	for rel, data := range readTree(t, from, keep) {
		dst := filepath.Join(to, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
