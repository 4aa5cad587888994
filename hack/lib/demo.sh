# Sourced by the demo scripts (hack/demo-steps.sh, hack/demo-vault.sh): how
# they show steps, run commands and wait, and their clean-up. The script
# sets demo, its name in messages, before sourcing this file.

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
wait_for() { # seconds description command...
	local t=$1 what=$2; shift 2
	for _ in $(seq $((t * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	echo "$demo: timed out waiting for $what" >&2
	return 1
}

# work is the demo's scratch folder. The server a demo starts in the
# background (its pid in server_pid) is stopped on exit.
work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
