package proc

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildKeyward builds the keyward command into dir and returns its path,
// for tests that run it as users do (and kill or measure it). It is run
// from the test's own package folder, which lies inside the module.
func BuildKeyward(dir string) (string, error) {
	bin := filepath.Join(dir, "keyward")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/keyward/keyward/cmd/keyward").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/keyward: %v\n%s", err, out)
	}
	return bin, nil
}
