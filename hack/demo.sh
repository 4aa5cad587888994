#!/usr/bin/env bash
# The local demo behind `make demo`: starts the local cluster and runs
# hack/demo-steps.sh against it. Needs bin/keyward (make build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./hack/devcluster -- bash hack/demo-steps.sh
