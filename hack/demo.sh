#!/usr/bin/env bash
# The local demo behind `make demo`: starts the local cluster, puts the
# controller's kubeseal API behind kube-system/sealed-secrets-controller as in
# a real install, and runs hack/demo-steps.sh against it. Needs bin/keyward
# (make build) and root (the Service's endpoint lives in a network namespace).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root: the controller's Service endpoint is a network namespace of this machine" >&2
	exit 1
fi
exec go run ./hack/devcluster \
	--expose kube-system/sealed-secrets-controller=127.0.0.1:18080 \
	-- bash hack/demo-steps.sh
