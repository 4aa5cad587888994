// Package peers gives tests the tools Keyward replaces, built by
// hack/peertools/build.sh into its version-keyed cache: Bitnami's kubeseal
// and sealed-secrets controller, gitleaks, and the External Secrets Operator. It also runs Bitnami's
// controller against the test cluster as if it ran in a Pod. A peer that
// does not build fails the test: interop tests never skip.
package peers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	testcluster "github.com/keyward/keyward/test/cluster"
)

// Binaries are the paths of the peers' executables.
type Binaries struct {
	Kubeseal string
	// SealedSecretsController is Bitnami's controller (cmd/controller).
	SealedSecretsController string
	Gitleaks                string
	// ExternalSecrets is the External Secrets Operator's binary; its root
	// command runs the controller.
	ExternalSecrets string
	// ExternalSecretsCRDs is ESO's CRD bundle (deploy/crds/bundle.yaml) of
	// the same release.
	ExternalSecretsCRDs string
}

var (
	buildOnce sync.Once
	built     Binaries
	buildErr  error
)

// Build runs hack/peertools/build.sh once per process (the script finds
// binaries already cached, and waits for a build another process runs) and
// returns where the peers are.
func Build() (Binaries, error) {
	buildOnce.Do(func() { built, buildErr = build() })
	return built, buildErr
}

// Get is Build for a test: a failed build fails it.
func Get(t testing.TB) Binaries {
	t.Helper()
	b, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func build() (Binaries, error) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		return Binaries{}, err
	}
	script := filepath.Join(root, "hack", "peertools", "build.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("peers: building with %s: %w\n%s", script, err, stderr.String())
	}
	dir := strings.TrimSpace(stdout.String())
	b := Binaries{
		Kubeseal:                filepath.Join(dir, "kubeseal"),
		SealedSecretsController: filepath.Join(dir, "sealed-secrets-controller"),
		Gitleaks:                filepath.Join(dir, "gitleaks"),
		ExternalSecrets:         filepath.Join(dir, "external-secrets"),
		ExternalSecretsCRDs:     filepath.Join(dir, "external-secrets-crds.yaml"),
	}
	if _, err := os.Stat(b.ExternalSecretsCRDs); err != nil {
		return Binaries{}, fmt.Errorf("peers: %s finished but left no ESO CRD bundle: %w", script, err)
	}
	for _, bin := range []string{b.Kubeseal, b.SealedSecretsController, b.Gitleaks, b.ExternalSecrets} {
		if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
			return Binaries{}, fmt.Errorf("peers: %s finished but left no executable %s", script, bin)
		}
	}
	return b, nil
}
