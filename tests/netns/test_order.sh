#!/bin/bash
# No packet of a flow is reordered at full rate through several queues and
# threads (`ipredir passthru -q 2` in B, in and out layers).
# UDP: udpseq floods 64 flows; with --fail-closed no datagram can pass around a
# full queue, so every flow must arrive in order (reordered=0, duplicates=0;
# drops are allowed and reported). The same flood fail-open (the default) is
# reported too: there datagrams that pass around a full queue overtake held
# ones, by design. The fail-closed flood runs again with --busy-poll and with
# --coalesce: the same guarantees.
# TCP: 3 streams A->B for TCP_SECONDS, every byte checked; the reordering
# the sender detected (nstat TcpExtTCPSACKReorder + TCPTSReorder +
# TCPRenoReorder: reordering told apart from loss) is compared with the same
# run without ipredir: the redirected run may not have more, but for a slack
# of REORDER_SLACK (the veth path alone reorders a few segments when a sender
# moves to the other CPU's backlog). The receiver's out-of-order queueing
# (TcpExtTCPOFOQueue, which loss causes too) and retransmissions are reported.
#
#   +------+ veth-a               veth-b +------+
#   |  A   |-----------------------------|  B   |
#   +------+ 10.77.77.1       10.77.77.2 +------+
#   udpseq send, 3 x tcpstream send      udpseq recv, 3 x tcpstream recv,
#                                        ipredir passthru -q 2 [--fail-closed]
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=order
. "$(dirname "$0")/lib.sh"
need_root_and order "$IPREDIR" "$UDPSEQ" "$TCPSTREAM"
topo_pair 77 || { fail topology "could not build A-B"; finish; }
FLOWS=64
COUNT=${ORDER_COUNT:-3000} # datagrams per flow
TCP_SECONDS=${TCP_SECONDS:-3}
REORDER_SLACK=10

# field KEY FILE: KEY=value from the last line of FILE that has it.
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$2" | tail -n 1; }

PT_PID=
# redirect ARGS...: passthru -q 2 ARGS in B (both layers), or nothing for no ARGS "none".
redirect() {
	[ "$1" = none ] && return 0
	spawn "$NS_B" "$WORK/passthru.log" "$IPREDIR" passthru --quiet -q 2 "$@"
	PT_PID=$!
	wait_table "$NS_B"
}

# unredirect NAME [MIN]: stop passthru; it must have passed at least MIN packets.
unredirect() {
	local n
	[ -n "$PT_PID" ] || return 0
	stop "$PT_PID" INT
	PT_PID=
	[ -n "$2" ] || return 0
	n=$(sed -n 's/^passthru: \([0-9]*\) packets.*/\1/p' "$WORK/passthru.log")
	check "$1.redirected" "passthru passed ${n:-no} packets, fewer than $2" test "${n:-0}" -ge "$2"
}

# udp_case NAME ARGS...: the UDP flood through passthru -q 2 ARGS. With
# CHECK_REDIRECTED=1, passthru must have passed every datagram that arrived.
udp_case() {
	local name=$1 rlog=$WORK/$1.recv
	shift
	redirect "$@" || { fail "$name" "passthru did not start"; return 1; }
	spawn "$NS_B" "$rlog" "$UDPSEQ" recv 7000 --flows "$FLOWS" --timeout 3
	local rpid=$!
	wait_until 5 has_line "$rlog" '^listening' || { fail "$name" "receiver did not listen"; return 1; }
	in_ns "$NS_A" "$UDPSEQ" send "$B4" 7000 --flows "$FLOWS" --count "$COUNT" >/dev/null
	wait_until 20 gone "$rpid"
	unredirect "$name" "${CHECK_REDIRECTED:+$(field received "$rlog")}"
	echo "# udp $name: $(grep '^flows=' "$rlog") (sent $((FLOWS * COUNT)))"
}

# nstat_of NS COUNTER...: the sum of kernel SNMP counters of NS, absolute.
nstat_of() {
	local ns=$1
	shift
	# shellcheck disable=SC2016 # awk's own fields
	in_ns "$ns" nstat -asz "$@" | awk '{ n += $2 } END { print n + 0 }'
}
REORDER_COUNTERS=(TcpExtTCPSACKReorder TcpExtTCPTSReorder TcpExtTCPRenoReorder)

# tcp_case NAME ARGS...: 3 streams A->B for TCP_SECONDS through passthru ARGS
# (or "none"); sets REORDER to the reordering A detected.
tcp_case() {
	local name=$1 i pids=() rpids=() ofo0 re0 ro0 sent got
	shift
	redirect "$@" || { fail "$name" "passthru did not start"; return 1; }
	ofo0=$(nstat_of "$NS_B" TcpExtTCPOFOQueue) re0=$(nstat_of "$NS_A" TcpRetransSegs)
	ro0=$(nstat_of "$NS_A" "${REORDER_COUNTERS[@]}")
	for i in 1 2 3; do
		spawn "$NS_B" "$WORK/$name$i.recv" "$TCPSTREAM" recv $((6000 + i))
		rpids+=($!)
		wait_until 5 has_line "$WORK/$name$i.recv" '^listening' || return 1
	done
	for i in 1 2 3; do
		spawn "$NS_A" "$WORK/$name$i.send" "$TCPSTREAM" send "$B4" $((6000 + i)) --seconds "$TCP_SECONDS"
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in 1 2 3; do
		wait_until 10 gone "${rpids[$((i - 1))]}"
		sent=$(field bytes "$WORK/$name$i.send")
		got=$(sed -n 's/^received bytes=\([0-9]*\) corrupt=0 .*/\1/p' "$WORK/$name$i.recv")
		check "$name.stream$i" "sent ${sent:-?}, received ${got:-? or corrupt}" \
			test -n "$sent" -a "$sent" = "$got" || show "$WORK/$name$i.recv"
		TOTAL=$((${TOTAL:-0} + ${got:-0}))
	done
	REORDER=$(($(nstat_of "$NS_A" "${REORDER_COUNTERS[@]}") - ro0))
	unredirect "$name" 1000
	echo "# tcp $name: $TOTAL bytes; reordering detected by A $REORDER;" \
		"out-of-order segments queued at B $(($(nstat_of "$NS_B" TcpExtTCPOFOQueue) - ofo0));" \
		"retransmitted by A $(($(nstat_of "$NS_A" TcpRetransSegs) - re0))"
	TOTAL=0
}

# udp_in_order NAME ARGS...: the fail-closed flood through passthru ARGS arrives in
# order, without duplicates, on every flow, and all of it went through passthru.
udp_in_order() {
	local name=$1 rlog=$WORK/$1.recv
	shift
	CHECK_REDIRECTED=1 udp_case "$name" --fail-closed "$@" &&
		check "udp_$name.in_order" "reordered in fail-closed: $(grep '^flows=' "$rlog")" \
			test "$(field reordered "$rlog")" = 0 -a "$(field duplicates "$rlog")" = 0 -a \
			"$(field flows "$rlog")" = "$FLOWS"
}

udp_in_order failclosed
udp_case failopen
# The receive pacing modes change when packets are read, never which or in what order.
udp_in_order busy_poll --busy-poll 50
udp_in_order coalesce --coalesce 200
# Threads mixing a flow's packets would reorder thousands of times.
tcp_case without none && base=$REORDER
tcp_case with && check tcp.no_more_reordering "A detected reordering $REORDER times with passthru -q 2, $base without" \
	test "$REORDER" -le $((base + REORDER_SLACK))
finish
