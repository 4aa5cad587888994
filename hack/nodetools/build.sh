#!/usr/bin/env bash
# Builds the test node: kubelet, kube-scheduler and kube-proxy at the control
# plane's Kubernetes release (from hack/kubetools' module), containerd with
# ctr and the runc shim (from this folder's module), a pause program and its
# image as an OCI layout tarball. They go into a cache folder outside the
# checkout keyed by the versions; a second run finds them and costs nothing.
# Debian's runc, CNI plugins and iptables are installed with apt-get (as
# root) when missing; apt waits for another install, as the tools build side
# by side. Prints the folder on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"
# shellcheck source=../lib/kube.sh
source "$here/../lib/kube.sh"
containerd_version=$(cd "$here" && go list -m -f '{{.Version}}' github.com/containerd/containerd/v2)
cache_dir "node-k8s-$k8s_version-containerd-$containerd_version"

# Debian's packages: the OCI runtime, the CNI plugins (bridge, host-local,
# loopback, portmap) and the iptables that the bridge plugin and kube-proxy
# call.
missing=()
[ -x /usr/sbin/runc ] || missing+=(runc)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v iptables-restore >/dev/null || missing+=(iptables)
command -v conntrack >/dev/null || missing+=(conntrack)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "nodetools: the test node needs Debian's ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "nodetools: installing ${missing[*]} with apt-get" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >&2; then
		apt-get -o DPkg::Lock::Timeout=600 update >&2
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >&2
	fi
fi

build() { # module-folder name package ldflags [go build flags...]
	local mod=$1 name=$2 pkg=$3 flags=$4
	shift 4
	[ -x "$dir/$name" ] && return 0
	echo "nodetools: building $name ($pkg); a cold build takes minutes" >&2
	local start=$SECONDS
	(cd "$mod" && CGO_ENABLED=0 go build -trimpath "$@" -ldflags "$flags" -o "$dir/.$name.tmp" "$pkg")
	mv -f "$dir/.$name.tmp" "$dir/$name"
	echo "nodetools: built $name in $((SECONDS - start))s" >&2
}

kube=$here/../kubetools
build "$kube" kubelet k8s.io/kubernetes/cmd/kubelet "$kube_ldflags"
build "$kube" kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$kube_ldflags"
build "$kube" kube-proxy k8s.io/kubernetes/cmd/kube-proxy "$kube_ldflags"

# containerd without the snapshotters that need cgo or kernel features the
# node does not use; overlayfs and native remain.
ctrd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$containerd_version"
ctrd_tags=(-tags "no_btrfs no_devmapper no_zfs")
build "$here" containerd github.com/containerd/containerd/v2/cmd/containerd "$ctrd_ldflags" "${ctrd_tags[@]}"
build "$here" containerd-shim-runc-v2 github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 "$ctrd_ldflags" "${ctrd_tags[@]}"
build "$here" ctr github.com/containerd/containerd/v2/cmd/ctr "$ctrd_ldflags" "${ctrd_tags[@]}"

# The sandbox ("pause") image, built here since no registry is reachable.
build "$here" pause ./pause "-s -w"
if [ ! -f "$dir/pause.tar" ]; then
	(cd "$here/../release" && go run ./cmd/image -pause -binary "$dir/pause" -out "$dir/.pause-oci" -ref localhost/keyward/pause:3.10) >&2
	tar -C "$dir/.pause-oci" -cf "$dir/.pause.tar.tmp" .
	rm -rf "$dir/.pause-oci"
	mv -f "$dir/.pause.tar.tmp" "$dir/pause.tar"
fi

echo "$dir"
