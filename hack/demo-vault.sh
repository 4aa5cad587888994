#!/usr/bin/env bash
# The guide's migration path, for the demo: a plain Secret backend-secrets is
# sealed for Git and then moved into Vault (aura/production/postgres) with
# `keyward migrate`, the same Secret object all the way; promote finds a value
# two environments share; a value rotated in Vault arrives by itself.
#
# Run it with KUBECONFIG pointing at the local cluster, kubectl on PATH and
# Keyward installed and running as Pods (as hack/demo-steps.sh leaves it).
# It starts its own Vault dev server (v1.14.2, built once by
# hack/vaulttools/build.sh) on port ${VAULT_DEMO_PORT:-8200} of the address
# where the node's Pods reach this machine ($KEYWARD_NODE_HOST_IP, which
# hack/devcluster --node sets), and stops it on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
demo=demo-vault
# shellcheck source=lib/demo.sh
source hack/lib/demo.sh

vault_dir=$(hack/vaulttools/build.sh)
vault() { HOME="$work" "$vault_dir/vault" "$@"; }
export VAULT_ADDR="http://${KEYWARD_NODE_HOST_IP:?run by hack/devcluster --node}:${VAULT_DEMO_PORT:-8200}"
export VAULT_TOKEN="demo-root-$RANDOM$RANDOM"
ns=aura-production

step "Production: a Vault server (dev mode, in memory) will hold the database URI"
HOME="$work" "$vault_dir/vault" server -dev -dev-root-token-id="$VAULT_TOKEN" \
	-dev-listen-address="${VAULT_ADDR#http://}" -dev-no-store-token >"$work/vault.log" 2>&1 &
server_pid=$!
wait_for 60 "Vault" curl -sf "$VAULT_ADDR/v1/sys/health"
run vault audit enable file file_path="$work/audit.log"

step "Keyward logs in with AppRole; its policy reaches aura/production/* only"
# migrate push writes through the store's own credentials: while the
# migration runs they may write; narrow the policy to read afterwards.
printf 'path "secret/data/aura/production/*" { capabilities = ["create", "read", "update"] }\npath "secret/metadata/aura/production/*" { capabilities = ["create", "read", "update"] }\n' >"$work/policy.hcl"
run vault policy write keyward-aura "$work/policy.hcl"
run vault auth enable approle
run vault write auth/approle/role/keyward token_policies=keyward-aura token_ttl=1h token_max_ttl=24h
role_id=$(vault read -field=role_id auth/approle/role/keyward/role-id)
secret_id=$(vault write -f -field=secret_id auth/approle/role/keyward/secret-id)
run kubectl create namespace "$ns"
printf '$ kubectl -n %s create secret generic vault-approle --from-literal=secret-id=...\n' "$ns"
kubectl -n "$ns" create secret generic vault-approle --from-literal=secret-id="$secret_id" >/dev/null
cat >"$work/store.yaml" <<EOF
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
EOF
run kubectl apply -f "$work/store.yaml"

step "The migration path, in one namespace: first a plain Secret, made by the guide's kubectl command"
printf "\$ kubectl create secret generic backend-secrets --from-literal=postgres-db-uri='postgresql://...' -n %s\n" "$ns"
kubectl create secret generic backend-secrets \
	--from-literal=postgres-db-uri='postgresql://app:prod-first@db/aura' -n "$ns" >/dev/null
run kubectl -n "$ns" label secret backend-secrets app=backend
# The app: the node's pause image stands in for it (no registry is
# reachable); it reads the database URI from its environment, and asks the
# reload controller to restart it when that value changes.
app_image=localhost/keyward/pause:3.10
run kubectl -n "$ns" create deployment backend --image=$app_image
run kubectl -n "$ns" set env deployment/backend --from=secret/backend-secrets
run kubectl -n "$ns" annotate deployment backend reload.keyward.dev/auto=true
run kubectl -n "$ns" rollout status deployment/backend --timeout=2m
original=$(kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.metadata.uid} {.data.postgres-db-uri}')

step "Then sealed for Git: migrate seal writes the SealedSecret and the controller takes the Secret over in place"
mkdir -p "$work/k8s/production"
cd "$work"
run keyward migrate plan seal -n "$ns" -l app=backend --out k8s/production
run keyward migrate seal -n "$ns" -l app=backend --out k8s/production --apply
run ls k8s/production
run kubectl -n "$ns" get sealedsecret backend-secrets

step "Then into the store: migrate push writes the values to Vault, and an ExternalSecret adopts the same Secret"
run keyward migrate plan push -n "$ns" --store vault-backend --path 'aura/production/postgres' backend-secrets
run keyward migrate push -n "$ns" --store vault-backend --path 'aura/production/postgres' \
	--refresh-interval 5s --out k8s/production --cleanup backend-secrets
run cat k8s/production/backend-secrets.externalsecret.yaml
run kubectl -n "$ns" get externalsecret backend-secrets
run kubectl -n "$ns" get sealedsecrets
after=$(kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.metadata.uid} {.data.postgres-db-uri}')
if [ "$after" != "$original" ]; then
	echo "$demo: backend-secrets changed on the way" >&2
	exit 1
fi
echo "backend-secrets is the same object, with the same value, as when kubectl made it"
echo "A second push finds nothing to do:"
run keyward migrate push -n "$ns" --store vault-backend --path 'aura/production/postgres' \
	--refresh-interval 5s --cleanup backend-secrets
cd - >/dev/null

step "Different secrets per environment: staging uses production's database URI by mistake, and promote says so"
run kubectl create namespace aura-staging
printf "\$ kubectl create secret generic backend-secrets --from-literal=postgres-db-uri='postgresql://...' -n aura-staging\n"
kubectl create secret generic backend-secrets \
	--from-literal=postgres-db-uri='postgresql://app:prod-first@db/aura' -n aura-staging >/dev/null
run kubectl -n aura-staging create deployment backend --image=$app_image
run kubectl -n aura-staging set env deployment/backend --from=secret/backend-secrets
printf '$ keyward migrate promote --from aura-staging --to %s\n' "$ns"
if keyward migrate promote --from aura-staging --to "$ns"; then
	echo "$demo: promote did not find the value both environments share" >&2
	exit 1
fi
echo "(exit status 1: a value is the same in both environments)"

step "Rotation: a new value written in Vault reaches the Secret within the refresh interval, and the app restarts"
before=$(kubectl -n "$ns" get pods -l app=backend -o 'jsonpath={.items[*].metadata.name}')
run kubectl -n "$ns" get pods -l app=backend
run vault kv put -mount=secret aura/production/postgres postgres-db-uri='postgresql://app:prod-rotated@db/aura'
rotated() { [ "$(kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.data.postgres-db-uri}' | base64 -d)" = 'postgresql://app:prod-rotated@db/aura' ]; }
start=$SECONDS
wait_for 60 "the rotated value" rotated
printf '$ kubectl -n %s get secret backend-secrets -o jsonpath={.data.postgres-db-uri} | base64 -d\n' "$ns"
kubectl -n "$ns" get secret backend-secrets -o 'jsonpath={.data.postgres-db-uri}' | base64 -d; echo
echo "(arrived within $((SECONDS - start + 1))s; refreshInterval 5s)"
restarted() {
	local now
	now=$(kubectl -n "$ns" get pods -l app=backend --field-selector=status.phase=Running -o 'jsonpath={.items[*].metadata.name}')
	[ -n "$now" ] && [ "$now" != "$before" ] && ! grep -qw -- "$before" <<<"$now"
}
wait_for 120 "the reload controller to restart backend's Pod" restarted
run kubectl -n "$ns" rollout status deployment/backend --timeout=2m
run kubectl -n "$ns" get pods -l app=backend
echo "(the Pod $before was replaced: reload restarted the Deployment that reads the rotated key)"

step "Vault's audit log: one login for the store, however many syncs"
logins=$(grep '"type":"request"' "$work/audit.log" | grep -c '"path":"auth/approle/login"' || true)
reads=$(grep '"type":"request"' "$work/audit.log" | grep -c '"path":"secret/data/aura/production/postgres"' || true)
echo "AppRole logins: $logins; reads of aura/production/postgres: $reads"
run kubectl -n "$ns" get secretstore vault-backend
