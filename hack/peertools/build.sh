#!/usr/bin/env bash
# Builds the tools Keyward replaces, at the releases pinned in go.mod, from the
# Go module proxy into a cache folder outside the checkout keyed by those
# versions: Bitnami's kubeseal and sealed-secrets controller, gitleaks, and
# the External Secrets Operator. The interop tests and the side-by-side
# benchmarks run these. A second run finds
# them and costs nothing. Prints the folder on stdout; progress goes to stderr.
#
# go.mod pins and go.sum verifies each release (ESO's in eso/go.mod, a module
# of its own so its graph moves no other peer's versions); each is then built as its own
# main module, from its folder in the module cache, so it links exactly the
# dependencies its authors released it with (as their own release builds do),
# not the versions a shared build list would pick.
#
# Each binary is linked to a temporary name and renamed into place, so an
# interrupted build never leaves a half-written binary that looks finished.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

version() { go list -m -f '{{.Version}}' "$1"; }
ss_version=$(version github.com/bitnami/sealed-secrets)
gitleaks_version=$(version github.com/zricethezav/gitleaks/v8)
eso_version=$(cd eso && version github.com/external-secrets/external-secrets)

cache_root=${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward}
dir="$cache_root/peers-sealed-secrets-$ss_version-gitleaks-$gitleaks_version-eso-$eso_version"
mkdir -p "$dir"

# One builder at a time: test packages started together wait for the first.
exec 9>"$dir/.lock"
flock 9

build() { # name module package ldflags [folder of the tools module that pins it]
	local name=$1 mod=$2 pkg=$3 flags=$4 pin=${5:-.}
	[ -x "$dir/$name" ] && return 0
	echo "peertools: building $name ($mod $pkg); a cold build takes minutes" >&2
	local start=$SECONDS src
	src=$(cd "$pin" && go mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "peertools: $mod is not in the module cache" >&2; return 1; }
	(cd "$src" && go build -mod=readonly -trimpath -ldflags "$flags" -o "$dir/.$name.tmp" "$pkg")
	mv -f "$dir/.$name.tmp" "$dir/$name"
	echo "peertools: built $name in $((SECONDS - start))s" >&2
}

# The replace in go.mod resolves the module's own name to where it is served.
ss_module=$(go list -m -f '{{with .Replace}}{{.Path}}@{{.Version}}{{end}}' github.com/bitnami/sealed-secrets)
build kubeseal "$ss_module" ./cmd/kubeseal "-s -w -X main.VERSION=$ss_version"
build sealed-secrets-controller "$ss_module" ./cmd/controller "-s -w -X main.VERSION=$ss_version"
build gitleaks "github.com/zricethezav/gitleaks/v8@$gitleaks_version" . \
	"-s -w -X github.com/zricethezav/gitleaks/v8/version.Version=$gitleaks_version"
# ESO's controller, webhook and cert controller are one binary; the tests run
# its controller (the root command). About 10 minutes cold on two cores.
build external-secrets "github.com/external-secrets/external-secrets@$eso_version" . \
	"-s -w" eso
# Its CRDs as released with it, so tests install ESO's API, not our copy of it.
if [ ! -f "$dir/external-secrets-crds.yaml" ]; then
	src=$(cd eso && go mod download -json "github.com/external-secrets/external-secrets@$eso_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	cp "$src/deploy/crds/bundle.yaml" "$dir/.external-secrets-crds.yaml.tmp"
	mv -f "$dir/.external-secrets-crds.yaml.tmp" "$dir/external-secrets-crds.yaml"
fi

echo "$dir"
