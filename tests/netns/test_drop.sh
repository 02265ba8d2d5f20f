#!/bin/bash
# A drop verdict stops the packet at every layer, IPv4 and IPv6; once the
# program exits its table is gone and the same traffic flows again.
#
#   +------+ eth0   eth-a +------+ eth-b   eth0 +------+
#   |  A   |--------------|  R   |--------------|  B   |
#   +------+ 10.77.7.0/24 +------+ 10.77.8.0/24 +------+
#   ping     fd77:7::/64  forward  fd77:8::/64
#   in: B drops echo requests, out: B drops echo replies, forward: R drops requests.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=drop
. "$(dirname "$0")/lib.sh"
need_root_and drop "$IPRTAP"
topo_routed 7 || { fail topology "could not build A-R-B"; finish; }

# drop_case LAYER VERSION
drop_case() {
	local layer=$1 v=$2 name="$1_v$2" ns=$NS_B what=request b log
	b=$(addr_of B "$v") log=$WORK/$name.tap
	[ "$layer" = forward ] && ns=$NS_R
	[ "$layer" = out ] && what=reply
	tap_start "$ns" "$log" -l "$layer" -a drop -f "$(echo_filter "$v" "$what")" ||
		{ fail "$name" "iprtap did not start"; show "$log"; return; }
	pings "$NS_A" "$b" 2 "$WORK/$name.ping"
	check "$name.stopped" "ping got a reply through a drop verdict" has_line "$WORK/$name.ping" ' 0 received' ||
		show "$WORK/$name.ping"
	stop "$TAP_PID"
	check "$name.seen" "the program did not see the echo ${what}s" test "$(stat_of "$log" dropped)" = 2
	check "$name.table_gone" "the table outlived the program" no_table "$ns"
	check "$name.flows_again" "no ping reply after the program exited" pings "$NS_A" "$b" 1
}

for v in 4 6; do
	for layer in in out forward; do
		drop_case "$layer" "$v"
	done
done
finish
