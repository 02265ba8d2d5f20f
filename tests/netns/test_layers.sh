#!/bin/bash
# Packets reach the program at the layer it asked for, IPv4 and IPv6.
#
#   +------+ eth0   eth-a +------+ eth-b   eth0 +------+
#   |  A   |--------------|  R   |--------------|  B   |
#   +------+ 10.77.1.0/24 +------+ 10.77.2.0/24 +------+
#            fd77:1::/64  forward  fd77:2::/64
#   A pings B. iprtap -l in / -l out runs in B, iprtap -l forward in R.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=layers
. "$(dirname "$0")/lib.sh"
need_root_and layers "$IPRTAP"
topo_routed 1 || { fail topology "could not build A-R-B"; finish; }

# expect_packets NAME LOG LAYER VERSION SRC DST: LOG shows the ping from SRC to DST at LAYER.
expect_packets() {
	local name=$1 log=$2 layer=$3 v=$4 src=$5 dst=$6
	local re
	re=$(pkt_re "$layer" "$v" "$(proto_of "$v")" "$src" "$dst")
	if has_line "$log" "$re"; then pass "$name"; else fail "$name" "no ICMP $src -> $dst at layer $layer"; show "$log"; fi
}

# layer_case LAYER VERSION: iprtap at LAYER sees the ping (and nothing of another layer).
layer_case() {
	local layer=$1 v=$2 ns=$NS_B name="$1_v$2" a b log
	a=$(addr_of A "$v") b=$(addr_of B "$v") log=$WORK/$name.tap
	[ "$layer" = forward ] && ns=$NS_R
	tap_start "$ns" "$log" -l "$layer" || { fail "$name" "iprtap did not start"; show "$log"; return; }
	check "$name.ping" "not every ping through the redirector was answered" pings "$NS_A" "$b" 3 "$WORK/$name.ping"
	stop "$TAP_PID"
	case $layer in
	in) expect_packets "$name.request" "$log" in "$v" "$a" "$b" ;;
	out) expect_packets "$name.reply" "$log" out "$v" "$b" "$a" ;;
	forward)
		expect_packets "$name.request" "$log" forward "$v" "$a" "$b"
		expect_packets "$name.reply" "$log" forward "$v" "$b" "$a"
		;;
	esac
	check "$name.only_$layer" "a packet of another layer reached the program" \
		test "$(count_lines "$log" "^pkt layer=" )" = "$(count_lines "$log" "^pkt layer=$layer ")"
}

# interface_case VERSION: -i restricts the in layer to packets of that interface.
interface_case() {
	local v=$1 b log
	b=$(addr_of B "$v") log=$WORK/iface_v$v.tap
	tap_start "$NS_B" "$log" -l in -i lo -f "$(echo_filter "$v" request)" ||
		{ fail "iface_v$v" "iprtap did not start"; show "$log"; return; }
	pings "$NS_A" "$b" 2
	pings "$NS_B" "$b" 2
	stop "$TAP_PID"
	check "iface_v$v.other_interface" "a ping from A (eth0) reached a tap on lo" \
		test "$(count_lines "$log" "src=$(addr_of A "$v") ")" = 0
	check "iface_v$v.own_interface" "a ping over lo did not reach a tap on lo" \
		has_line "$log" "$(pkt_re in "$v" "$(proto_of "$v")" "$b" "$b")"
}

for v in 4 6; do
	for layer in in out forward; do
		layer_case "$layer" "$v"
	done
	interface_case "$v"
done
finish
