#!/usr/bin/env bash
set -euo pipefail

export HEROKU_API_KEY=1b9e9de4-1bf7-ea90-c9ab-7e4cd0708d16
export TWILIO_AUTH_TOKEN=b29a82d8c132af9a199316f5a5b4a77b

curl -s --user "api:key-c987e5e67a38e528ebfc1974759523f6" \
  https://api.eu.mailgun.net/v3/mg.acme-corp.io/messages -F to=ops@acme-corp.io -F subject="deploy started"
mysql -h reporting-db.internal -u reporting --password='wLwivei0YcRgnN%1' -e 'SELECT 1'
curl -s -H "DD-API-KEY: ${DD_API_KEY}" https://api.datadoghq.eu/api/v1/validate
curl -s -H "Authorization: Bearer $(gcloud auth print-access-token)" https://run.googleapis.com/v2/services
sha256sum -c <<<"06dabeb2530825820ef4628a59e7d13e2c43357c4e2f9c687657d7ea14bf7b31  dist/billing.tar.gz"
