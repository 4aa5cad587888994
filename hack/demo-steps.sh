#!/usr/bin/env bash
# What the demo shows, run with KUBECONFIG pointing at the local cluster and
# kubectl on PATH (hack/devcluster sets both) and the image loaded into the
# cluster's node: Keyward installed as the README says, then the guide's path
# from plain Secrets in development to sealed secrets in staging.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/bin:$PATH"
demo=demo
# shellcheck source=lib/demo.sh
source hack/lib/demo.sh

step "keyward version"
run keyward version

step "The local cluster answers"
run kubectl version
run kubectl get namespaces

step "Development: a plain Secret, created with kubectl"
run kubectl create namespace aura-development
run kubectl -n aura-development create secret generic backend-secrets \
	--from-literal=postgres-db-uri='postgresql://app:dev-only@db/app'
run kubectl -n aura-development get secret backend-secrets

step "Staging: install Keyward as the README says; the controller runs as a Pod on the node"
run kubectl apply --server-side -f deploy/keyward.yaml
run kubectl -n kube-system rollout status deployment/keyward --timeout=3m
run kubectl -n kube-system get pods -l app.kubernetes.io/name=keyward -o wide
wait_for 60 "the controller's sealing key" kubeseal --fetch-cert
run kubectl -n kube-system get secrets -l sealedsecrets.bitnami.com/sealed-secrets-key=active

step "The guide's Sealed Secrets steps, as written (kubeseal is keyward under that name)"
cd "$work"
printf '$ kubeseal --fetch-cert > sealed-secrets-public-key.pem\n'
kubeseal --fetch-cert > sealed-secrets-public-key.pem
head -1 sealed-secrets-public-key.pem
printf "\$ kubectl create secret generic backend-secrets --from-literal=postgres-db-uri='postgresql://...' --dry-run=client -o yaml | kubeseal --cert=sealed-secrets-public-key.pem -o yaml > sealed-secret.yaml\n"
kubectl create secret generic backend-secrets \
	--from-literal=postgres-db-uri='postgresql://app:staging-only@db/app' \
	--dry-run=client -o yaml | kubeseal --cert=sealed-secrets-public-key.pem -o yaml > sealed-secret.yaml
run cat sealed-secret.yaml
run kubectl apply -f sealed-secret.yaml
wait_for 30 "the Secret backend-secrets" kubectl get secret backend-secrets
run kubectl get sealedsecret backend-secrets
printf '$ kubectl get secret backend-secrets -o jsonpath={.data.postgres-db-uri} | base64 -d\n'
kubectl get secret backend-secrets -o 'jsonpath={.data.postgres-db-uri}' | base64 -d; echo
printf '$ kubeseal --validate < sealed-secret.yaml\n'
kubeseal --validate < sealed-secret.yaml && echo "the controller opens it"
cd - >/dev/null

if [ -x hack/demo-vault.sh ]; then
	step "Production: an external store"
	bash hack/demo-vault.sh
fi

step "Audit: who can read the production Secrets, and is anything copied where it should not be"
run keyward audit access -n aura-production --fail-on none --no-progress
run keyward audit exposure -n aura-production --fail-on none --no-progress
run keyward audit policy
