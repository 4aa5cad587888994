// Command template prints charts/keyward rendered with its default values,
// CRDs first, as `helm template RELEASE charts/keyward -n NAMESPACE
// --include-crds` does, with Helm's own Go library: no helm binary needed.
//
//	cd hack/release && go run ./cmd/template -chart ../../charts/keyward | kubectl apply --server-side -f -
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/keyward/keyward/hack/release/chart"
)

func main() {
	dir := flag.String("chart", "../../charts/keyward", "the chart's folder")
	release := flag.String("release", "keyward", "the release name")
	namespace := flag.String("namespace", "kube-system", "the release namespace")
	flag.Parse()
	out, err := chart.Render(*dir, *release, *namespace, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "template:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
