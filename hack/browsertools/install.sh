#!/usr/bin/env bash
# Makes the browser tests' tools available: Debian's chromium (installed with
# apt-get when /usr/bin/chromium is missing, which needs root) and axe-core
# from the npm registry at the version package-lock.json pins, installed with
# `npm ci` into a cache folder outside the checkout keyed by the lockfile.
# A second run finds both and costs nothing. Prints the folder holding
# node_modules on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cache.sh
source "$here/../lib/cache.sh"

chromium=${KEYWARD_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "browsertools: $chromium is missing; install Debian's chromium as root (apt-get install -y chromium) or set KEYWARD_CHROMIUM" >&2
		exit 1
	fi
	echo "browsertools: installing chromium with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y chromium >&2 || { apt-get -o DPkg::Lock::Timeout=600 update >&2 && apt-get -o DPkg::Lock::Timeout=600 install -y chromium >&2; }
fi

lock_sum=$(sha256sum "$here/package-lock.json" | cut -c1-16)
cache_dir "browsertools-$lock_sum"
if [ ! -f "$dir/node_modules/axe-core/axe.min.js" ]; then
	echo "browsertools: npm ci (axe-core) into $dir" >&2
	rm -rf "$dir/.tmp" && mkdir -p "$dir/.tmp"
	cp "$here/package.json" "$here/package-lock.json" "$dir/.tmp/"
	(cd "$dir/.tmp" && npm ci --ignore-scripts --no-audit --no-fund >&2)
	rm -rf "$dir/node_modules"
	mv "$dir/.tmp/node_modules" "$dir/node_modules"
	rm -rf "$dir/.tmp"
fi

echo "$dir"
