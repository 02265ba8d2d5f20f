#!/bin/bash
# Only packets that match the filter reach the program, IPv4 and IPv6: with the
# filter in the kernel, forced into user space, and too large for the kernel
# (40 host terms: user-space evaluation, the rest counted as filtered).
# `ipredir filter` explains each of these filters and, run over a real capture
# of this traffic, takes the same packets as tcpdump's own filter; bad filters
# exit 2 with where the error lies; --windivert shows a WinDivert filter's
# kernel part.
#
#   +--------+ veth-a       veth-b +--------+
#   |   A    |---------------------|   B    |
#   +--------+ 10.77.9.1  10.77.9.2 +--------+
#   ping,      fd77:9::1  fd77:9::2  iprtap -l in,
#   20 UDP datagrams                 UDP receiver
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=filter
. "$(dirname "$0")/lib.sh"
need_root_and filter "$IPRTAP" "$IPREDIR"
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

# explain_case NAME KIND FILTER: `ipredir filter FILTER` says whether it fits xt_bpf.
explain_case() {
	local name=$1 kind=$2 out=$WORK/explain_$1.out fits="it fits" user="nothing"
	shift 2
	"$IPREDIR" filter "$@" >"$out" 2>&1
	[ "$kind" = kernel ] || fits="too many" user="the whole filter"
	check "explain_$name.fits" "not \"$fits\"" has_line "$out" "^BPF +[0-9]+ instructions; xt_bpf takes 64: $fits\$" ||
		show "$out"
	check "explain_$name.user" "user space does not run \"$user\"" has_line "$out" "^user space +$user"
}

# bad_case NAME WHERE ARGS...: `ipredir filter ARGS` exits 2, naming WHERE.
bad_case() {
	local name=$1 where=$2 out=$WORK/bad_$1.out rc
	shift 2
	"$IPREDIR" filter "$@" >"$out" 2>&1
	rc=$?
	check "bad_$name" "exit $rc, or no \"$where\"" test "$rc" = 2 -a "$(count_lines "$out" "$where")" = 1 ||
		show "$out"
}

# captured FILE FILTER...: tcpdump reads from FILE a packet that each FILTER takes.
captured() {
	local cap=$1 f
	shift
	for f; do
		[ -n "$(tcpdump -r "$cap" -n "$f" 2>/dev/null | head -n 1)" ] || return 1
	done
}

# agree_case: over a capture of both versions' traffic, `ipredir filter -r` takes
# the same packets (by time) as `tcpdump -r` with the same filter, for every filter above.
agree_case() {
	local cap=$WORK/agree.pcap log=$WORK/agree.tcpdump pid f i=0 ours theirs
	local filters=(icmp icmp6 "$(big_filter 4)" "$(big_filter 6)")
	command -v tcpdump >/dev/null || { skip agree "tcpdump not installed"; return; }
	spawn "$NS_B" "$log" tcpdump -i "$IF_B" -n -U -w "$cap"
	pid=$!
	wait_until 5 has_line "$log" "listening on" || { fail agree "tcpdump did not start"; show "$log"; return; }
	traffic agree_v4 4
	traffic agree_v6 6
	# written (-U: packet by packet) before tcpdump stops, which may lag on a busy machine
	wait_until 10 captured "$cap" "${filters[@]}"
	stop "$pid" INT
	for f in "${filters[@]}"; do
		i=$((i + 1))
		ours=$("$IPREDIR" filter -r "$cap" "$f" 2>/dev/null | cut -d' ' -f2)
		theirs=$(tcpdump -r "$cap" -tt -n "$f" 2>/dev/null | cut -d' ' -f1)
		check "agree_$i" "ipredir takes $(echo "$ours" | grep -c .) packets, tcpdump $(echo "$theirs" | grep -c .)" \
			test -n "$ours" -a "$ours" = "$theirs" || { ls -l "$cap"; show "$log"; }
	done
}

explain_case icmp kernel icmp
explain_case big_v4 user "$(big_filter 4)"
explain_case big_v6 user "$(big_filter 6)"
bad_case syntax "syntax error at word 3" tcp and and port 80
bad_case incomplete "syntax error at the end" "udp port 53 or host"
bad_case windivert "at position 15" --windivert "tcp.DstPort == = 80"
"$IPREDIR" filter --windivert "tcp.DstPort == 80" >"$WORK/windivert.out" 2>&1
check windivert "no kernel pcap part with port 80" has_line "$WORK/windivert.out" '^kernel pcap .*tcp\[2:2\] == 80' ||
	show "$WORK/windivert.out"
agree_case
for v in 4 6; do
	control_case "$v"
	filter_case "kernel_v$v" "$v" kernel "$(icmp_of "$v")"
	filter_case "forced_user_v$v" "$v" user "$(icmp_of "$v")" --user-filter
	filter_case "too_large_v$v" "$v" user "$(big_filter "$v")"
done
finish
