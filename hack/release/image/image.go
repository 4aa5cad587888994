// Package image builds Keyward's container image without a Docker engine:
// a scratch image holding a static binary, a non-root user, CA certificates
// and a writable /tmp, written as an OCI image layout.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// User is the uid:gid the image runs as (distroless' nonroot).
const User = "65532:65532"

// Options say what goes into the image.
type Options struct {
	// Binary is the static linux keyward binary.
	Binary string
	// CACerts is a CA bundle for TLS to secret stores; empty leaves it out.
	CACerts string
	// Version and Revision label the image.
	Version, Revision string
	// Arch is the binary's GOARCH.
	Arch string
}

// Build assembles the image: one layer with the filesystem skeleton, one
// with the binary (so a new build changes only the last layer).
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("reading the binary: %w", err)
	}
	base := []file{
		{name: "etc/", mode: 0o755 | dir},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "home/", mode: 0o755 | dir},
		{name: "home/nonroot/", mode: 0o700 | dir, uid: 65532},
		{name: "tmp/", mode: 0o1777 | dir},
	}
	if o.CACerts != "" {
		certs, err := os.ReadFile(o.CACerts)
		if err != nil {
			return nil, fmt.Errorf("reading CA certificates: %w", err)
		}
		base = append(base,
			file{name: "etc/ssl/", mode: 0o755 | dir},
			file{name: "etc/ssl/certs/", mode: 0o755 | dir},
			file{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs})
	}
	skeleton, err := layer(base)
	if err != nil {
		return nil, err
	}
	binary, err := layer([]file{{name: "keyward", mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	return withConfig([]v1.Layer{skeleton, binary}, o.Arch, func(c *v1.Config) {
		c.Entrypoint = []string{"/keyward"}
		c.Cmd = []string{"controller"}
		c.User = User
		c.WorkingDir = "/home/nonroot"
		c.Env = []string{"PATH=/", "HOME=/home/nonroot", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "8081/tcp": {}, "8082/tcp": {}}
		c.Labels = map[string]string{
			"org.opencontainers.image.title":    "keyward",
			"org.opencontainers.image.source":   "https://github.com/keyward/keyward",
			"org.opencontainers.image.version":  o.Version,
			"org.opencontainers.image.revision": o.Revision,
		}
	})
}

// Pause assembles the test node's sandbox image: the static pause binary
// alone, run as nobody (65535, as the upstream pause image does).
func Pause(binary, arch string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the pause binary: %w", err)
	}
	l, err := layer([]file{{name: "pause", mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	return withConfig([]v1.Layer{l}, arch, func(c *v1.Config) {
		c.Entrypoint = []string{"/pause"}
		c.User = "65535:65535"
	})
}

// withConfig stacks layers on an empty image for linux/arch and sets its
// run configuration.
func withConfig(layers []v1.Layer, arch string, set func(*v1.Config)) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	set(&cfg.Config)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the image config: %w", err)
	}
	return img, nil
}

// WriteLayout writes img as an OCI image layout at dir, tagged ref.
func WriteLayout(dir, ref string, img v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating the OCI layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return fmt.Errorf("writing the image to %s: %w", dir, err)
	}
	return nil
}

const dir = 1 << 31

type file struct {
	name string
	mode int64
	uid  int
	data []byte
}

// layer tars files with fixed times and owners, so the same inputs give
// the same digest.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode &^ dir, Uid: f.uid, Gid: f.uid, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if f.mode&dir != 0 {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}
