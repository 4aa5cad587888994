// Package chart renders and lints the Helm chart in charts/keyward with
// Helm's Go library, as `helm template --include-crds` and `helm lint` do.
package chart

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// Render returns the chart's CRDs and templates rendered for a release
// named release in namespace with values over the chart's defaults.
func Render(dir, release, namespace string, values map[string]any) ([]byte, error) {
	c, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", dir, err)
	}
	vals, err := chartutil.ToRenderValues(c, values, chartutil.ReleaseOptions{
		Name: release, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	files, err := engine.Render(c, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", dir, err)
	}
	var buf bytes.Buffer
	for _, crd := range c.CRDObjects() {
		fmt.Fprintf(&buf, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if path.Ext(name) == ".yaml" && !strings.HasPrefix(path.Base(name), "_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.TrimSpace(files[name]) != "" {
			fmt.Fprintf(&buf, "---\n# Source: %s\n%s\n", name, files[name])
		}
	}
	return buf.Bytes(), nil
}

// Lint runs Helm's linter and returns its warnings and errors.
func Lint(dir, namespace string, values map[string]any) []string {
	var problems []string
	for _, m := range lint.All(dir, values, namespace, false).Messages {
		if m.Severity >= support.WarningSev {
			problems = append(problems, m.Error())
		}
	}
	return problems
}
