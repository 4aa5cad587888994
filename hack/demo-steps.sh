#!/usr/bin/env bash
# What the demo shows, run with KUBECONFIG pointing at the local cluster and
# kubectl on PATH (hack/devcluster sets both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/bin:$PATH"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "keyward version"
keyward version

step "The local cluster answers"
kubectl version
kubectl get namespaces

step "A plain Secret, the first step of the guide's path (development)"
kubectl create namespace demo
kubectl -n demo create secret generic backend-secrets --from-literal=postgres-db-uri='postgres://app:dev-only@db:5432/app'
kubectl -n demo get secret backend-secrets
