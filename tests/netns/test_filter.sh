#!/bin/bash
# Only packets that match the filter reach the program, IPv4 and IPv6: with the
# filter in the kernel, forced into user space, and too large for the kernel
# (40 host terms: user-space evaluation, the rest counted as filtered).
#
#   +--------+ veth-a       veth-b +--------+
#   |   A    |---------------------|   B    |
#   +--------+ 10.77.9.1  10.77.9.2 +--------+
#   ping,      fd77:9::1  fd77:9::2  iprtap -l in,
#   20 UDP datagrams                 UDP receiver
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=filter
. "$(dirname "$0")/lib.sh"
need_root_and filter "$IPRTAP"
topo_pair 9 || { fail topology "could not build A-B"; finish; }
UDP_COUNT=20

# icmp_of VERSION: the pcap name of ICMP for the version.
icmp_of() { if [ "$1" = 4 ]; then echo icmp; else echo icmp6; fi; }

# big_filter VERSION: 40 host terms ORed (one of them A), then "and ICMP": too
# large for xt_bpf. The kernel runs the first part (a superset: it queues A's
# UDP too), user space the whole filter, which rejects the UDP as "filtered".
big_filter() {
	local v=$1 i hosts
	for i in $(seq 1 39); do
		if [ "$v" = 4 ]; then hosts="$hosts host 10.77.200.$i or"; else hosts="$hosts host fd77:200::$i or"; fi
	done
	echo "($hosts host $(addr_of A "$v")) and $(icmp_of "$v")"
}

# traffic NAME VERSION: 3 pings and UDP_COUNT datagrams from A to B at once.
traffic() {
	local name=$1 v=$2 b sender
	b=$(addr_of B "$v")
	udp_listen "$NS_B" "$WORK/$name.udp" 7001
	in_ns "$NS_A" python3 "$NETTOOL" udp-send "$b" 7001 datagram "$UDP_COUNT" 0.01 &
	sender=$!
	pings "$NS_A" "$b" 3
	wait "$sender"
	udp_finish
}

# filter_case NAME VERSION KIND FILTER IPRTAP_ARGS...: ICMP reaches the program, UDP does not.
filter_case() {
	local name=$1 v=$2 kind=$3 filter=$4 log=$WORK/$1.tap filtered
	shift 4
	tap_start "$NS_B" "$log" -l in -f "$filter" "$@" || { fail "$name" "iprtap did not start"; show "$log"; return; }
	traffic "$name" "$v"
	stop "$TAP_PID"
	check "$name.kind" "filter_kind=$(field_of "$log" filter_kind), expected $kind" test "$(field_of "$log" filter_kind)" = "$kind"
	check "$name.udp_flowed" "B received $(count_lines "$WORK/$name.udp" '^got ') of $UDP_COUNT datagrams" \
		test "$(count_lines "$WORK/$name.udp" '^got ')" = "$UDP_COUNT"
	check "$name.icmp_seen" "no ICMP packet reached the program" \
		has_line "$log" "$(pkt_re in "$v" "$(proto_of "$v")" "$(addr_of A "$v")" "$(addr_of B "$v")")"
	check "$name.udp_not_seen" "UDP packets reached the program" test "$(count_lines "$log" ' proto=17 ')" = 0
	filtered=$(stat_of "$log" filtered)
	if [ "$kind" = kernel ]; then
		check "$name.none_filtered" "filtered=$filtered in user space" test "$filtered" = 0
	else
		check "$name.rest_filtered" "filtered=$filtered, expected >= $UDP_COUNT" test "${filtered:-0}" -ge "$UDP_COUNT"
	fi
}

# control_case VERSION: without a filter the UDP datagrams do reach the program.
control_case() {
	local v=$1 name="control_v$1" log=$WORK/control_v$1.tap
	tap_start "$NS_B" "$log" -l in || { fail "$name" "iprtap did not start"; show "$log"; return; }
	traffic "$name" "$v"
	stop "$TAP_PID"
	check "$name.kind" "filter_kind=$(field_of "$log" filter_kind)" test "$(field_of "$log" filter_kind)" = none
	check "$name.udp_seen" "$(count_lines "$log" ' proto=17 ') UDP packets reached the program" \
		test "$(count_lines "$log" ' proto=17 ')" = $((UDP_COUNT + 1)) # and the end datagram
}

for v in 4 6; do
	control_case "$v"
	filter_case "kernel_v$v" "$v" kernel "$(icmp_of "$v")"
	filter_case "forced_user_v$v" "$v" user "$(icmp_of "$v")" --user-filter
	filter_case "too_large_v$v" "$v" user "$(big_filter "$v")"
done
finish
