#!/usr/bin/env bash
# Builds the test-cluster binaries (etcd, kube-apiserver, kube-controller-manager,
# kubectl) from the Go module proxy at the versions pinned in go.mod, into a
# cache folder outside the checkout keyed by those versions. A second run finds
# them and costs nothing. Prints the folder on stdout (usable as
# KUBEBUILDER_ASSETS); progress goes to stderr.
#
# Each binary is linked to a temporary name and renamed into place, so an
# interrupted build never leaves a half-written binary that looks finished.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"
# shellcheck source=../lib/kube.sh
source "$here/../lib/kube.sh"
etcd_version=v3.7.3
cache_dir "kube-$k8s_version-etcd-$etcd_version"

build() { # name package flags
	local name=$1 pkg=$2 flags=$3
	[ -x "$dir/$name" ] && return 0
	echo "kubetools: building $name ($pkg); a cold build takes minutes" >&2
	local start=$SECONDS
	(cd "$here" && go build -trimpath -ldflags "$flags" -o "$dir/.$name.tmp" "$pkg")
	mv -f "$dir/.$name.tmp" "$dir/$name"
	echo "kubetools: built $name in $((SECONDS - start))s" >&2
}

build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build etcd go.etcd.io/etcd/server/v3 "-s -w"
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build kubectl k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"

echo "$dir"
