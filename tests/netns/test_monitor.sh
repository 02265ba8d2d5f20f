#!/bin/bash
# Monitor-only mode (iprtap --monitor: copies, nothing held), IPv4 and IPv6.
# A monitor runs on the BPF engine (netfilter links) where the kernel allows it.
# It sees each packet of its layers once, with layer, version, protocol,
# length and addresses; a filter (in the kernel or in user space) limits what it
# sees; and a monitor whose program is stopped (SIGSTOP) leaves a TCP transfer
# intact and at least half as fast as without it. After SIGCONT the program
# takes packets again and reports the copies it lost meanwhile (failopen).
# The BPF and NFLOG engines (IPREDIR_MONITOR_ENGINE) see the same packets with
# the same filters; whole-packet copies rebuild a transfer byte for byte, none
# lost; a SIGKILL leaves no link; without BPF the NFLOG engine serves instead.
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
	check "$name.bpf_engine" "the monitor in B holds no netfilter BPF link" uses_bpf "$pidb"
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

# pkts LOG: the packets a monitor printed, sorted, but for link-local IPv6 chatter (a
# router solicitation may come at any time, between the two monitors' stops too).
pkts() { grep '^pkt ' "$1" | grep -Ev ' (src|dst)=fe80:' | sort; }

# same_packets LOG LOG: the two monitors printed the same packets (in any order).
same_packets() { cmp -s <(pkts "$1") <(pkts "$2"); }

# agree_case NAME KIND FILTER: a monitor of each engine in B, with FILTER (KIND: the
# ready line's filter_kind), sees the same packets of pings and TCP transfers.
agree_case() {
	local name=$1 kind=$2 filter=$3 bpf=$WORK/$1.bpf nflog=$WORK/$1.nflog pidn v n
	IPREDIR_MONITOR_ENGINE=nflog tap_start "$NS_B" "$nflog" --monitor -l in,out -f "$filter" ||
		{ fail "$name" "iprtap --monitor on NFLOG did not start"; show "$nflog"; return; }
	pidn=$TAP_PID
	IPREDIR_MONITOR_ENGINE=bpf tap_start "$NS_B" "$bpf" --monitor -l in,out -f "$filter" ||
		{ fail "$name" "iprtap --monitor on BPF did not start"; show "$bpf"; stop "$pidn"; return; }
	check "$name.engines" "the monitors do not run one on each engine" \
		test -n "$(nf_links "$TAP_PID")" -a -z "$(nf_links "$pidn")"
	check "$name.kind" "filter_kind=$(field_of "$bpf" filter_kind), expected $kind" \
		test "$(field_of "$bpf" filter_kind)" = "$kind"
	for v in 4 6; do
		pings "$NS_A" "$(addr_of B "$v")" "$PINGS" >/dev/null
		tcp_transfer "$name.tcp_v$v" "$NS_A" "$NS_B" "$(addr_of B "$v")" 2000000
	done
	wait_until 5 same_packets "$bpf" "$nflog"
	stop "$TAP_PID"
	stop "$pidn"
	n=$(pkts "$bpf" | grep -c .)
	if ! check "$name.same" "BPF saw $n packets, NFLOG $(pkts "$nflog" | grep -c .)" \
		same_packets "$bpf" "$nflog"; then
		diff <(pkts "$nflog") <(pkts "$bpf") | head -n 6 | sed 's/^/#   /'
	fi
	check "$name.some" "the filter let no packet through" test "$n" -gt 0
	echo "# $name: $n packets on each engine"
}

# A filter longer than the kernel's 64 instructions: a superset in the kernel.
LONG_FILTER="(tcp port 5201 or icmp or icmp6) and not ($(seq -f 'tcp port %g' -s ' or ' 6000 6030))"

# whole_case VERSION SNAP: `ipredir dump --monitor` of a 20 MB transfer into B; with
# whole packets its capture rebuilds the transfer byte for byte, with SNAP bytes it
# holds as many segments, none longer; no copy lost either way.
whole_case() {
	local v=$1 snap=$2 name="whole_v$1${2:+_snap$2}" log=$WORK/whole_v$1_$2.log
	local cap=$WORK/whole_v$1_$2.pcap pid sent got lost segs
	spawn "$NS_B" "$log" "$IPREDIR" dump --monitor --in -f 'tcp dst port 5201' ${snap:+--snap "$snap"} -j -w "$cap"
	pid=$!
	wait_until 5 has_table "$NS_B" || { fail "$name" "ipredir dump --monitor did not start"; show "$log"; return; }
	tcp_transfer "$name.transfer" "$NS_A" "$NS_B" "$(addr_of B "$v")" 20000000
	check "$name.bpf_engine" "ipredir dump --monitor holds no netfilter BPF link" uses_bpf "$pid"
	sleep 0.1 # the last copies: the ring's timer wakes the reader within 10 ms
	stop "$pid" INT
	lost=$(sed -n 's/.*"fail_open": *\([0-9]*\).*/\1/p' "$log")
	check "$name.none_lost" "fail_open=${lost:-?}: copies were lost" test "${lost:-x}" = 0
	got=$(python3 "$PCAPFLOW" "$cap" 5201)
	echo "# $name: ${got#stream }; fail_open=${lost:-?}"
	if [ -z "$snap" ]; then
		sent=$(sed -n 's/^sent //p' "$WORK/$name.transfer.send")
		check "$name.intact" "sent $sent, the copies rebuild ${got#stream }" \
			test "${got#stream "$sent" }" != "$got"
	else
		segs=${got% longest=*}
		segs=${segs##*segments=}
		check "$name.segments" "only $segs segments were copied" test "$segs" -gt 100
		check "$name.cut" "a copy is longer than $snap bytes" test "${got##*longest=}" -le "$snap"
	fi
}

# killed_case: a SIGKILLed monitor leaves no netfilter link (nor table) behind.
killed_case() {
	local log=$WORK/killed.tap ids
	tap_start "$NS_B" "$log" --monitor -l in,out,forward ||
		{ fail killed "iprtap --monitor did not start"; show "$log"; return; }
	read -ra ids <<<"$(nf_links "$TAP_PID" | tr '\n' ' ')"
	check killed.links "${#ids[@]} netfilter links, expected 6 (3 hooks, 2 families)" test "${#ids[@]}" = 6
	stop "$TAP_PID" KILL
	check killed.links_gone "links ${ids[*]} outlived their process" wait_until 2 links_gone "${ids[@]}"
	check killed.table_gone "the table outlived its process" wait_until 2 no_table "$NS_B"
}

# fallback_case: without CAP_BPF and CAP_SYS_ADMIN the kernel refuses the program and
# NFLOG serves the handle, saying so once.
fallback_case() {
	local log=$WORK/fallback.tap
	if ! command -v capsh >/dev/null; then
		skip fallback "needs capsh to drop CAP_BPF"
		return
	fi
	spawn "$NS_B" "$log" capsh --drop=cap_bpf,cap_sys_admin,cap_perfmon -- -c "exec $IPREDIR dump --monitor -v -f icmp"
	TAP_PID=$!
	check fallback.start "ipredir dump --monitor without CAP_BPF did not start" wait_until 5 has_table "$NS_B"
	check fallback.ping "pings failed" pings "$NS_A" "$(addr_of B 4)" "$PINGS"
	check fallback.seen "the NFLOG monitor did not see the pings" wait_until 5 has_line "$log" "icmp type 8"
	check fallback.no_links "it holds netfilter links" test -z "$(nf_links "$TAP_PID")"
	stop "$TAP_PID"
	check fallback.said "no line said NFLOG serves instead" \
		test "$(count_lines "$log" 'the bpf engine cannot serve this handle: .*; using nflog instead')" = 1 || show "$log"
}

for v in 4 6; do
	layers_case "$v"
	filter_case "filter_kernel_v$v" "$v" kernel
	filter_case "filter_user_v$v" "$v" user --user-filter
	stopped_case "$v"
	whole_case "$v"
	whole_case "$v" 128
done
agree_case agree_port kernel 'tcp port 5201'
agree_case agree_flags kernel 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 or icmp[icmptype] == icmp-echoreply'
agree_case agree_v6_len kernel 'ip6 and tcp and len > 1000'
agree_case agree_long user "$LONG_FILTER"
killed_case
fallback_case
finish
