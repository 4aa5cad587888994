//go:build tools

// Package eso pins the release of the External Secrets Operator that the
// interop tests and benchmarks run. It is a module of its own, apart from
// ../go.mod, because ESO's dependency graph (and the sprig fork it replaces
// in) would otherwise move the versions the other peers resolve to.
// hack/peertools/build.sh builds it; none of its code is kept here.
package eso

import _ "github.com/external-secrets/external-secrets"
