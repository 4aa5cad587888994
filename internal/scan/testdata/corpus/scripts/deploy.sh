#!/usr/bin/env bash
set -euo pipefail
export VAULT_ADDR=https://vault.internal:8200
export VAULT_TOKEN=hvs.H2XzeHh8x0w4tTyzxAJPU3r5
curl -fsS -H "Authorization: token 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" https://api.github.com/repos/acme/app/releases
TOKEN=$(vault kv get -field=token secret/ci)
curl -H "Authorization: Bearer $TOKEN" https://deploy.internal/v1/rollout
docker login -u ci -p "$REGISTRY_PASSWORD" registry.internal
export DIGITALOCEAN_TOKEN=dop_v1_82da16eca639eaa50be7b7e3e0a9d56716ea09a2f001d63d3bebb8ad03f796dc
kubeadm join 10.0.0.10:6443 --token 7f3k2q.9x8m4n2p1r6t5v0w --discovery-token-ca-cert-hash sha256:2b9f4c7e1a0d3f6b8c5e2a9d7f4b1c8e6a3d0f7b4c1e8a5d2f9b6c3e0a7d4f1b
curl -fsS -H "Authorization: Bearer Zq8vTz3LmN0pRs5Wq8Vd2LmZ0xR7tNw4" https://deploy.internal/v1/status
