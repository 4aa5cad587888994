#!/usr/bin/env bash
# Builds HashiCorp Vault v1.14.2 (MPL-2.0; later 1.14.x lines are BUSL) from
# the Go module proxy into a cache folder outside the checkout keyed by that
# version, for tests that need a real Vault server. A second run finds the
# binary and costs nothing. Prints the folder on stdout; progress goes to
# stderr.
#
# Vault v1.14.2 with its sdk v0.9.2 panics in `server -dev`: that sdk added a
# sanity check (a CreateOperation without an ExistenceCheck) that Vault's own
# managed-keys stub path fails. The build copies the sdk from the module cache
# into its work folder, removes the two panics with sed and builds against that
# copy; nothing of Vault's code is kept in this repository.
#
# The binary is linked to a temporary name and renamed into place, so an
# interrupted build never leaves a half-written binary that looks finished.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"
vault_version=v1.14.2
sdk_version=v0.9.2
cache_dir "vault-$vault_version"

if [ ! -x "$dir/vault" ]; then
	echo "vaulttools: building vault $vault_version; a cold build takes 15-25 minutes" >&2
	start=$SECONDS
	work="$dir/src"
	rm -rf "$work"
	mkdir -p "$work"
	cp "$here/go.mod" "$here/go.sum" "$here/main.go" "$work/"
	cd "$work"

	sdk=$(go mod download -json "github.com/hashicorp/vault/sdk@$sdk_version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
	[ -d "$sdk" ] || { echo "vaulttools: sdk $sdk_version not in the module cache" >&2; exit 1; }
	cp -r "$sdk" sdk-patched
	chmod -R u+w sdk-patched
	check='Pattern %v defines a CreateOperation but no ExistenceCheck'
	sed -i "s|panic(fmt.Sprintf(\"$check\", p.Pattern))|_ = 0|" sdk-patched/framework/backend.go
	if grep -q "$check" sdk-patched/framework/backend.go; then
		echo "vaulttools: the sdk patch did not apply; framework/backend.go still panics" >&2
		exit 1
	fi
	go mod edit -replace "github.com/hashicorp/vault/sdk=./sdk-patched"

	go build -trimpath -ldflags "-s -w" -o "$dir/.vault.tmp" .
	mv -f "$dir/.vault.tmp" "$dir/vault"
	echo "vaulttools: built vault in $((SECONDS - start))s" >&2
fi

echo "$dir"
