#!/usr/bin/env bash
# The guide's production path, for the demo: Vault holds
# aura/production/postgres, the ExternalSecret syncs it into the Secret
# backend-secrets, and a value rotated in Vault arrives by itself.
#
# Run it with KUBECONFIG pointing at the local cluster, kubectl on PATH and a
# Keyward controller already running against that cluster (as
# hack/demo-steps.sh leaves it). It starts its own Vault dev server (v1.14.2,
# built once by hack/vaulttools/build.sh) on 127.0.0.1:${VAULT_DEMO_PORT:-18200}
# and stops it on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
demo=demo-vault
# shellcheck source=lib/demo.sh
source hack/lib/demo.sh

vault_dir=$(hack/vaulttools/build.sh)
vault() { HOME="$work" "$vault_dir/vault" "$@"; }
export VAULT_ADDR="http://127.0.0.1:${VAULT_DEMO_PORT:-18200}"
export VAULT_TOKEN="demo-root-$RANDOM$RANDOM"
ns=aura-production

step "Production: a Vault server (dev mode, in memory) holds the database URI"
HOME="$work" "$vault_dir/vault" server -dev -dev-root-token-id="$VAULT_TOKEN" \
	-dev-listen-address="${VAULT_ADDR#http://}" -dev-no-store-token >"$work/vault.log" 2>&1 &
server_pid=$!
wait_for 60 "Vault" curl -sf "$VAULT_ADDR/v1/sys/health"
run vault audit enable file file_path="$work/audit.log"
run vault kv put -mount=secret aura/production/postgres db-uri='postgresql://app:prod-first@db/aura'

step "Keyward logs in with AppRole, reading only what its policy allows"
printf 'path "secret/data/aura/production/*" { capabilities = ["read"] }\n' >"$work/policy.hcl"
run vault policy write keyward-read "$work/policy.hcl"
run vault auth enable approle
run vault write auth/approle/role/keyward token_policies=keyward-read token_ttl=1h token_max_ttl=24h
role_id=$(vault read -field=role_id auth/approle/role/keyward/role-id)
secret_id=$(vault write -f -field=secret_id auth/approle/role/keyward/secret-id)
run kubectl create namespace "$ns"
printf '$ kubectl -n %s create secret generic vault-approle --from-literal=secret-id=...\n' "$ns"
kubectl -n "$ns" create secret generic vault-approle --from-literal=secret-id="$secret_id" >/dev/null

step "The SecretStore and the guide's ExternalSecret"
cat >"$work/vault.yaml" <<EOF
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: vault-backend
  namespace: $ns
spec:
  provider:
    vault:
      server: $VAULT_ADDR
      path: secret
      version: v2
      auth:
        appRole:
          roleId: $role_id
          secretRef: {name: vault-approle, key: secret-id}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: backend-secrets
  namespace: $ns
spec:
  refreshInterval: 5s
  secretStoreRef:
    name: vault-backend
    kind: SecretStore
  target:
    name: backend-secrets
  data:
    - secretKey: postgres-db-uri
      remoteRef:
        key: aura/production/postgres
        property: db-uri
EOF
run cat "$work/vault.yaml"
run kubectl apply -f "$work/vault.yaml"
wait_for 60 "the Secret backend-secrets" kubectl -n "$ns" get secret backend-secrets
run kubectl -n "$ns" get externalsecret backend-secrets
printf '$ kubectl -n %s get secret backend-secrets -o jsonpath={.data.postgres-db-uri} | base64 -d\n' "$ns"
kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.data.postgres-db-uri}' | base64 -d; echo

step "Rotation: a new value written in Vault reaches the Secret within the refresh interval"
run vault kv put -mount=secret aura/production/postgres db-uri='postgresql://app:prod-rotated@db/aura'
rotated() { [ "$(kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.data.postgres-db-uri}' | base64 -d)" = 'postgresql://app:prod-rotated@db/aura' ]; }
start=$SECONDS
wait_for 60 "the rotated value" rotated
printf '$ kubectl -n %s get secret backend-secrets -o jsonpath={.data.postgres-db-uri} | base64 -d\n' "$ns"
kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.data.postgres-db-uri}' | base64 -d; echo
echo "(arrived within $((SECONDS - start + 1))s; refreshInterval 5s)"

step "Vault's audit log: one login for the store, however many syncs"
logins=$(grep '"type":"request"' "$work/audit.log" | grep -c '"path":"auth/approle/login"' || true)
reads=$(grep '"type":"request"' "$work/audit.log" | grep -c '"path":"secret/data/aura/production/postgres"' || true)
echo "AppRole logins: $logins; reads of aura/production/postgres: $reads"
run kubectl -n "$ns" get secretstore vault-backend
