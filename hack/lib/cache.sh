# Sourced by the tool builders (hack/kubetools, hack/vaulttools): where the
# built binaries are kept, outside the checkout, and one builder at a time.

# cache_dir NAME sets dir to the cache folder NAME (under
# $KEYWARD_TOOLS_CACHE, else $XDG_CACHE_HOME/keyward or ~/.cache/keyward),
# creates it and holds its lock on descriptor 9 until the script exits:
# test packages started together wait for the first builder.
cache_dir() {
	dir="${KEYWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyward}/$1"
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9
}

