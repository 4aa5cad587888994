#!/usr/bin/env bash
# The local demo behind `make demo`: starts the local cluster with a node
# that runs Pods, loads the image `make image` wrote (bin/oci) into it, and
# runs hack/demo-steps.sh against it, which installs Keyward as the README
# tells users to. Needs bin/keyward (make build) and root (the node's
# kubelet, containerd and network namespace).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root: the node's kubelet and containerd need it" >&2
	exit 1
fi
exec go run ./hack/devcluster --node --image bin/oci -- bash hack/demo-steps.sh
