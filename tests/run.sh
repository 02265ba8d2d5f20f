#!/bin/sh
# tests/run.sh - run every test of ipredir and count the results.
#
# Runs each unit test binary build/tests/test_*, then (as root) each
# tests/netns/test_*.sh. Every test prints lines starting with PASS:, FAIL: or
# SKIP:; they are shown as they come and counted. A program that times out or
# exits non-zero without printing a FAIL: line counts as one failure. The last
# line is "N passed, N failed, N skipped"; the exit status is 1 if any failed.
#
# Environment: UNIT_TIMEOUT and NETNS_TIMEOUT (seconds per program); IPR_BUILD
# names another build tree than build/ (e.g. a sanitizer build).

cd "$(dirname "$0")/.." || exit 1
PATH=$PATH:/usr/sbin:/sbin # ip, nft, sysctl
UNIT_TIMEOUT=${UNIT_TIMEOUT:-60}
NETNS_TIMEOUT=${NETNS_TIMEOUT:-150}

tmp=$(mktemp -d /tmp/ipredir-run.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
skipped=0

count() { grep -c "^$1:" "$tmp/out"; }

# run_one NAME SECONDS CMD...: run CMD with a time limit and count its lines.
run_one() {
	name=$1 limit=$2
	shift 2
	echo "# $name"
	{
		timeout -k 10 "$limit" "$@" 2>&1 </dev/null
		echo $? >"$tmp/rc"
	} | tee "$tmp/out"
	rc=$(cat "$tmp/rc")
	p=$(count PASS) f=$(count FAIL) s=$(count SKIP)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL: $name (timed out after ${limit}s)"
		else
			echo "FAIL: $name (exit status $rc without a FAIL line)"
		fi
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# sweep_namespaces NAME: delete namespaces a finished netns test left behind
# (named ipr-SUITE-PID-... by tests/netns/lib.sh, PID no longer running).
sweep_namespaces() {
	for ns in $(ip netns list | sed -n 's/^\(ipr-[a-z0-9_]*-[0-9]*-[a-z0-9]*\).*/\1/p'); do
		pid=$(echo "$ns" | sed 's/^ipr-[a-z0-9_]*-\([0-9]*\)-.*/\1/')
		kill -0 "$pid" 2>/dev/null && continue
		# shellcheck disable=SC2046 # one pid per word
		kill -9 $(ip netns pids "$ns") 2>/dev/null
		ip netns del "$ns"
		echo "FAIL: $1 (left namespace $ns behind)"
		failed=$((failed + 1))
	done
}

run_unit_tests() {
	for t in "${IPR_BUILD:-build}"/tests/test_*; do
		if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
		run_one "unit.${t##*/}" "$UNIT_TIMEOUT" "$t"
	done
}

run_netns_tests() {
	for t in tests/netns/test_*.sh; do
		[ -f "$t" ] || continue
		name=netns.$(basename "$t" .sh)
		if [ "$(id -u)" -ne 0 ]; then
			echo "SKIP: $name (needs root)"
			skipped=$((skipped + 1))
			continue
		fi
		run_one "$name" "$NETNS_TIMEOUT" bash "$t"
		sweep_namespaces "$name"
	done
}

run_unit_tests
run_netns_tests
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
