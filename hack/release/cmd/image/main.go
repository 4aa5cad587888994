// Command image writes Keyward's container image as an OCI image layout
// (`make image`), from a static binary built beforehand.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/keyward/keyward/hack/release/image"
)

func main() {
	var o image.Options
	flag.StringVar(&o.Binary, "binary", "", "the static linux keyward binary")
	flag.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include (empty: none)")
	flag.StringVar(&o.Version, "version", "dev", "image version label")
	flag.StringVar(&o.Revision, "revision", "unknown", "image revision label")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "the binary's GOARCH")
	out := flag.String("out", "", "directory of the OCI layout to write")
	ref := flag.String("ref", "ghcr.io/keyward/keyward:dev", "the image reference to record in the layout")
	pause := flag.Bool("pause", false, "write the test node's sandbox image from -binary (a pause program) instead")
	flag.Parse()
	if err := run(o, *out, *ref, *pause); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(o image.Options, out, ref string, pause bool) error {
	if o.Binary == "" || out == "" {
		return fmt.Errorf("-binary and -out are required")
	}
	build := image.Build
	if pause {
		build = func(o image.Options) (v1.Image, error) { return image.Pause(o.Binary, o.Arch) }
	}
	img, err := build(o)
	if err != nil {
		return err
	}
	if err := image.WriteLayout(out, ref, img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s in %s\n", ref, d, out)
	return nil
}
