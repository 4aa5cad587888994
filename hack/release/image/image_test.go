package image

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

const root = "../../.."

// TestImageReadBack builds the static binary and the image as `make image`
// does, reads the OCI layout back and runs the binary found inside it.
func TestImageReadBack(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "keyward")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/keyward")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	img, err := Build(Options{Binary: bin, Version: "v0.0.0-test", Revision: "abc", Arch: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "oci")
	if err := WriteLayout(dir, "ghcr.io/keyward/keyward:test", img); err != nil {
		t.Fatal(err)
	}

	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "ghcr.io/keyward/keyward:test" {
		t.Fatalf("index manifests = %+v, want one tagged ghcr.io/keyward/keyward:test", im.Manifests)
	}
	back, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"entrypoint", cfg.Config.Entrypoint, []string{"/keyward"}},
		{"cmd", cfg.Config.Cmd, []string{"controller"}},
		{"user", cfg.Config.User, User},
		{"os", cfg.OS, "linux"},
		{"architecture", cfg.Architecture, runtime.GOARCH},
		{"version label", cfg.Config.Labels["org.opencontainers.image.version"], "v0.0.0-test"},
	}
	for _, c := range checks {
		if !slices.Equal(toSlice(c.got), toSlice(c.want)) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	layers, err := back.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Errorf("%d layers, want 2 (skeleton, binary)", len(layers))
	}

	files := map[string]*tar.Header{}
	out := filepath.Join(tmp, "extracted")
	tr := tar.NewReader(mutate.Extract(back))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
		if h.Name == "keyward" {
			f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	for name, mode := range map[string]int64{"keyward": 0o755, "etc/passwd": 0o644, "tmp": 0o1777} {
		if h := files[name]; h == nil || h.Mode != mode {
			t.Errorf("%s in the image: %+v, want mode %o", name, h, mode)
		}
	}
	if h := files["etc/passwd"]; h != nil && h.Uid != 0 {
		t.Errorf("etc/passwd owned by %d, want root", h.Uid)
	}

	e, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range e.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static")
		}
	}
	e.Close()
	ver, err := exec.Command(out, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(ver), "keyward ") {
		t.Fatalf("keyward version from the image: %v\n%s", err, ver)
	}
}

func toSlice(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}

// TestDockerfile keeps the Dockerfile (for builders with a Docker engine)
// in step with the image this package makes.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"CGO_ENABLED=0", "FROM gcr.io/distroless/static-debian12:nonroot", "USER 65532:65532", `ENTRYPOINT ["/keyward"]`, `CMD ["controller"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
