#!/bin/bash
# Monitor-only mode (iprtap --monitor: NFLOG copies, nothing held), IPv4 and IPv6.
# A monitor sees each packet of its layers once, with layer, version, protocol,
# length and addresses; a filter (in the kernel or in user space) limits what it
# sees; and a monitor whose program is stopped (SIGSTOP) leaves a TCP transfer
# intact and at least half as fast as without it. After SIGCONT the program
# takes packets again and reports the copies it lost meanwhile (failopen).
#
#   +------+ eth0   eth-a +------+ eth-b   eth0 +------+
#   |  A   |--------------|  R   |--------------|  B   |
#   +------+ 10.77.33.0/24 +------+ 10.77.34.0/24 +------+
#   ping,    fd77:33::/64  forward  fd77:34::/64  receiver
#   sender                 monitor                monitor (in+out)
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=monitor
. "$(dirname "$0")/lib.sh"
need_root_and monitor "$IPRTAP"
topo_routed 33 || { fail topology "could not build A-R-B"; finish; }
PINGS=3
# More copies than a stopped monitor's socket buffer holds, so some are lost.
BYTES=200000000

# echo_re LAYER VERSION request|reply: regex for one echo packet of `ping` (56 data
# bytes) between A and B at LAYER, with its IP length.
echo_re() {
	local layer=$1 v=$2 len=84 src dst
	[ "$v" = 6 ] && len=104
	if [ "$3" = request ]; then src=$(addr_of A "$v") dst=$(addr_of B "$v"); else src=$(addr_of B "$v") dst=$(addr_of A "$v"); fi
	echo "^pkt layer=$layer v=$v proto=$(proto_of "$v") ttl=[0-9]+ len=$len src=${src//./\\.} dst=${dst//./\\.}( |\$)"
}

# sees NAME LOG COUNT LAYER VERSION request|reply: LOG shows exactly COUNT such echoes.
sees() {
	local n
	n=$(count_lines "$2" "$(echo_re "$4" "$5" "$6")")
	check "$1" "$n echo ${6}s at layer $4 reached the monitor, expected $3" test "$n" = "$3" || show "$2"
}

# seen_all LOG COUNT LAYER VERSION request|reply: LOG shows COUNT such echoes (poll
# this before stopping a monitor: copies arrive up to 10 ms after their packet).
seen_all() { wait_until 5 test_lines "$1" "$2" "$(echo_re "$3" "$4" "$5")"; }
test_lines() { [ "$(count_lines "$1" "$3")" -ge "$2" ]; }

# only_layer NAME LOG LAYER: every packet in LOG is of LAYER.
only_layer() {
	check "$1" "a packet of another layer reached the monitor" \
		test "$(count_lines "$2" '^pkt ')" = "$(count_lines "$2" "^pkt layer=$3 ")"
}

# layers_case VERSION: monitors in B (in, out) and R (forward) see A's pings.
layers_case() {
	local v=$1 name="layers_v$1" logb=$WORK/layers_v$1.b logr=$WORK/layers_v$1.r pidb
	tap_start "$NS_B" "$logb" --monitor -l in,out || { fail "$name" "iprtap --monitor did not start in B"; show "$logb"; return; }
	pidb=$TAP_PID
	tap_start "$NS_R" "$logr" --monitor -l forward ||
		{ fail "$name" "iprtap --monitor did not start in R"; show "$logr"; stop "$pidb"; return; }
	check "$name.ping" "not every ping past the monitors was answered" pings "$NS_A" "$(addr_of B "$v")" "$PINGS"
	seen_all "$logb" "$PINGS" out "$v" reply
	seen_all "$logr" "$PINGS" forward "$v" reply
	check "$name.exit" "iprtap --monitor in R failed" stop "$TAP_PID"
	check "$name.exit_b" "iprtap --monitor in B failed" stop "$pidb"
	sees "$name.in" "$logb" "$PINGS" in "$v" request
	sees "$name.out" "$logb" "$PINGS" out "$v" reply
	sees "$name.forward_request" "$logr" "$PINGS" forward "$v" request
	sees "$name.forward_reply" "$logr" "$PINGS" forward "$v" reply
	only_layer "$name.only_forward" "$logr" forward
	check "$name.no_forward_in_b" "a forwarded packet reached B's monitor" test "$(count_lines "$logb" '^pkt layer=forward ')" = 0
	check "$name.table_gone" "a monitor's table outlived it" no_table "$NS_B"
}

# filter_case NAME VERSION KIND IPRTAP_ARGS...: a monitor filtered to echo requests
# sees the requests and none of the replies; KIND is the ready line's filter_kind.
filter_case() {
	local name=$1 v=$2 kind=$3 log=$WORK/$1.tap filtered
	shift 3
	tap_start "$NS_B" "$log" --monitor -l in,out -f "$(echo_filter "$v" request)" "$@" ||
		{ fail "$name" "iprtap --monitor did not start"; show "$log"; return; }
	check "$name.ping" "not every ping past the monitor was answered" pings "$NS_A" "$(addr_of B "$v")" "$PINGS"
	seen_all "$log" "$PINGS" in "$v" request
	stop "$TAP_PID"
	check "$name.kind" "filter_kind=$(field_of "$log" filter_kind), expected $kind" test "$(field_of "$log" filter_kind)" = "$kind"
	sees "$name.requests" "$log" "$PINGS" in "$v" request
	check "$name.nothing_else" "a packet outside the filter reached the monitor" \
		test "$(count_lines "$log" '^pkt ')" = "$PINGS"
	filtered=$(stat_of "$log" filtered)
	if [ "$kind" = user ]; then
		# Each reply but the last precedes a request the monitor saw, so it was
		# filtered; the last one's copy may still have been on its way.
		check "$name.filtered" "filtered=${filtered:-?}: the replies were not filtered in user space" \
			test "${filtered:-0}" -ge $((PINGS - 1))
	else
		check "$name.none_filtered" "filtered=${filtered:-?} in user space" test "${filtered:-x}" = 0
	fi
}

# timed_transfer NAME VERSION: a TCP transfer A -> B; its wall time in ms is in XFER_MS.
timed_transfer() {
	local start
	start=$(date +%s%N)
	tcp_transfer "$1" "$NS_A" "$NS_B" "$(addr_of B "$2")" "$BYTES"
	XFER_MS=$((($(date +%s%N) - start) / 1000000))
}

is_stopped() { [ "$(ps -o state= -p "$1")" = T ]; }

# stopped_case VERSION: a transfer past a stopped monitor is intact and not much
# slower than one without it; the monitor then resumes and counts its losses.
stopped_case() {
	local v=$1 name="stopped_v$1" log=$WORK/stopped_v$1.tap base lost
	timed_transfer "${name}_baseline" "$v"
	base=$XFER_MS
	tap_start "$NS_B" "$log" --monitor -l in,out || { fail "$name" "iprtap --monitor did not start"; show "$log"; return; }
	kill -STOP "$TAP_PID"
	wait_until 5 is_stopped "$TAP_PID" || { fail "$name" "iprtap did not stop"; stop "$TAP_PID"; return; }
	timed_transfer "$name.transfer" "$v"
	check "$name.speed" "took $XFER_MS ms, $base ms without a monitor" test "$XFER_MS" -le $((2 * base))
	check "$name.still_installed" "the monitor's table went away while it was stopped" has_table "$NS_B"
	kill -CONT "$TAP_PID"
	check "$name.resume_ping" "pings failed after the monitor resumed" pings "$NS_A" "$(addr_of B "$v")" "$PINGS"
	# The copies queued while stopped come first; then the pings.
	check "$name.resumed" "the resumed monitor did not see the pings" \
		wait_until 10 has_line "$log" "$(echo_re in "$v" request)"
	check "$name.saw_transfer" "no copy of the transfer reached the monitor" has_line "$log" ' (sport|dport)=5201( |$)'
	stop "$TAP_PID"
	lost=$(stat_of "$log" failopen)
	check "$name.lost_counted" "failopen=${lost:-?}: copies lost while stopped were not counted" test "${lost:-0}" -gt 0
	echo "# $name: ${base} ms without a monitor, ${XFER_MS} ms with a stopped one; ${lost:-?} copies lost"
}

for v in 4 6; do
	layers_case "$v"
	filter_case "filter_kernel_v$v" "$v" kernel
	filter_case "filter_user_v$v" "$v" user --user-filter
	stopped_case "$v"
done
finish
