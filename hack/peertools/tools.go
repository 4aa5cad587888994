//go:build tools

// Package peertools pins the releases of the tools Keyward replaces, so the
// interop tests and benchmarks run against the real thing: Bitnami's kubeseal
// and sealed-secrets controller, and gitleaks. hack/peertools/build.sh builds
// them; none of their code is kept in this repository.
package peertools

import (
	_ "github.com/bitnami/sealed-secrets/cmd/controller"
	_ "github.com/bitnami/sealed-secrets/cmd/kubeseal"
	_ "github.com/zricethezav/gitleaks/v8"
)
