#!/bin/bash
# Multiple queues: `ipredir passthru -q 2` (one thread per queue, flows spread
# by a symmetric hash in the kernel) keeps every flow in order. Many
# sequence-numbered UDP flows arrive without any reordering or duplicate,
# three concurrent TCP transfers arrive byte-identical without out-of-order
# segments, every datagram that arrived went through passthru, and both threads
# carried traffic (each thread's socket binds a queue per CPU). IPv4 and IPv6.
# A queue thread follows its packets' CPU: sparse pings pin passthru -q 1's
# thread to one CPU, as SCHED_IDLE, a transfer under way gives it its whole mask
# and SCHED_OTHER back, and --no-follow-cpu never pins it.
# passthru runs with --fail-closed: a queue that overflows under load then
# drops (lost datagrams, reported, not failed) instead of passing packets past
# the queued ones, which would reorder by design and not by the hash's doing.
#
#   +------+ veth-a                veth-b +------+
#   |  A   |------------------------------|  B   |
#   +------+ 10.77.23.1       10.77.23.2  +------+
#   udpseq send, tcp-send                 ipredir passthru -q 2 (in+out)
#   (pinned to one CPU)                   udpseq recv, tcp-recv x 3
#   The path must not reorder by itself: veth queues packets per sending CPU,
#   and TCP sends from whichever CPU handles its ACKs, so RPS (all CPUs) on
#   both veths keeps each flow on one CPU. A control run without passthru
#   shows the path keeps every flow in order.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=queues
. "$(dirname "$0")/lib.sh"
# Start python3 itself, not a version manager's shim in front of it (~1 s per start).
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && PATH=${PY%/*}:$PATH
need_root_and queues "$IPREDIR" "$UDPSEQ"
topo_pair 23 || { fail topology "could not build A-B"; finish; }

# rps NS IF: steer received packets to a CPU by flow hash (when the kernel has RPS).
rps() {
	local n mask
	n=$(nproc)
	[ "$n" -le 32 ] || n=32
	mask=$(printf %x $(((1 << n) - 1)))
	in_ns "$1" sh -c "[ ! -e /sys/class/net/$2/queues/rx-0/rps_cpus ] ||
		echo $mask >/sys/class/net/$2/queues/rx-0/rps_cpus"
}
if ! rps "$NS_A" "$IF_A" || ! rps "$NS_B" "$IF_B"; then
	fail topology "could not set up RPS"
	finish
fi
FLOWS=32
COUNT=20000
TCP_FLOWS=3
TCP_BYTES=10000000
PORT=7023

# Senders run on CPU 0 when taskset exists, so that a sender cannot reorder its
# own packets by moving between CPUs (veth queues them per CPU).
PINNED=()
command -v taskset >/dev/null && PINNED=(taskset -c 0)

# udp_flows NAME VERSION: FLOWS x COUNT datagrams A -> B; sets UDP_RESULT to
# the receiver's line.
udp_flows() {
	local name=$1 v=$2 recv=$WORK/$1.udprecv pid
	spawn "$NS_B" "$recv" "$UDPSEQ" recv "$PORT" --flows "$FLOWS" --timeout 5
	pid=$!
	UDP_RESULT=
	wait_until 5 has_line "$recv" '^listening' || { show "$recv"; stop "$pid"; return 1; }
	in_ns "$NS_A" "${PINNED[@]}" "$UDPSEQ" send "$(addr_of B "$v")" "$PORT" --flows "$FLOWS" \
		--count "$COUNT" >"$WORK/$name.udpsend" 2>&1
	wait_until 30 gone "$pid"
	stop "$pid"
	UDP_RESULT=$(grep '^flows=' "$recv")
	[ -n "$UDP_RESULT" ]
}

# field RESULT KEY: a number of a udpseq result line.
field() { echo "$1" | sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p"; }

# check_udp NAME: the flows arrived complete in count, in order, without duplicates.
check_udp() {
	local name=$1 r=$UDP_RESULT lost
	lost=$(field "$r" lost)
	check "$name.flows" "udpseq: ${r:-no result}" test "$(field "$r" flows)" = "$FLOWS"
	check "$name.in_order" "udpseq: ${r:-no result}" test "$(field "$r" reordered)" = 0
	check "$name.no_duplicates" "udpseq: ${r:-no result}" test "$(field "$r" duplicates)" = 0
	# Loss is possible only where a socket buffer or queue overflows: reported, not failed.
	[ "${lost:-0}" = 0 ] || echo "# $SUITE.$name: $lost of $((FLOWS * COUNT)) datagrams lost ($r)"
	check "$name.received" "udpseq: ${r:-no result}" test "$(field "$r" received)" -ge $((FLOWS * COUNT / 2))
}

# ofo: out-of-order segments TCP queued in B so far (TcpExt: TCPOFOQueue).
# shellcheck disable=SC2016 # awk's own fields
ofo() {
	in_ns "$NS_B" awk '$1 == "TcpExt:" && !names { for (i = 2; i <= NF; i++) name[i] = $i; names = 1; next }
		$1 == "TcpExt:" { for (i = 2; i <= NF; i++) if (name[i] == "TCPOFOQueue") print $i }' /proc/net/netstat
}

# tcp_flows NAME VERSION: TCP_FLOWS transfers A -> B at once, each checked by
# sha256, and no TCP segment arrived out of order at B.
tcp_flows() {
	local name=$1 v=$2 before after
	before=$(ofo)
	tcp_transfers "$name." "$(addr_of B "$v")" "$PORT" "$TCP_FLOWS" "$TCP_BYTES" "${PINNED[@]}"
	after=$(ofo)
	check "$name.in_order" "B queued $((after - before)) out-of-order TCP segments" \
		test "$((after - before))" = 0
}

# passthru_queues: "PORTID IDS" for each socket with queues (portid != 0) in B: a
# thread's socket binds one queue per CPU, IDS sums their last ids.
# Columns: queue, portid, waiting, copy mode, copy range, queue drops, user drops, last id.
passthru_queues() {
	# shellcheck disable=SC2016 # awk's own fields
	in_ns "$NS_B" awk '$2 != 0 { n[$2] += $8 } END { for (p in n) print p, n[p] }' \
		/proc/net/netfilter/nfnetlink_queue
}

# both_carried "PORTID IDS" lines: two sockets, each with at least one flow's worth of packets.
both_carried() {
	# shellcheck disable=SC2016 # awk's own fields
	echo "$1" | awk -v min="$COUNT" 'NF == 2 { n++; if ($2 < min) low++ } END { exit !(n == 2 && !low) }'
}

# control_case VERSION: without passthru the path keeps every flow in order.
control_case() {
	local name=control_v$1
	if udp_flows "$name.udp" "$1"; then check_udp "$name.udp"; else fail "$name.udp" "udpseq gave no result"; fi
	tcp_flows "$name.tcp" "$1"
}

# queues_case VERSION: UDP flows and TCP transfers through passthru -q 2.
queues_case() {
	local v=$1 name=q2_v$1 log=$WORK/q2_v$1.passthru pid queues status seen udp
	spawn "$NS_B" "$log" "$IPREDIR" passthru -q 2 --fail-closed --quiet
	pid=$!
	wait_table "$NS_B" || { fail "$name" "passthru -q 2 did not install its table"; show "$log"; stop "$pid"; return; }
	if udp_flows "$name.udp" "$v"; then check_udp "$name.udp"; else fail "$name.udp" "udpseq gave no result"; fi
	udp=$(field "$UDP_RESULT" received)
	tcp_flows "$name.tcp" "$v"
	queues=$(passthru_queues)
	stop "$pid"
	status=$?
	check "$name.queues" "sockets in use (portid packets): $(echo "$queues" | paste -sd ,)" \
		both_carried "$queues"
	check "$name.exit" "passthru exited with status $status" test "$status" = 0 || show "$log"
	seen=$(sed -n 's/^passthru: \([0-9]*\) packets.*/\1/p' "$log")
	check "$name.all_redirected" "passthru saw ${seen:-no} packets, ${udp:-?} datagrams arrived" \
		test "${seen:-0}" -ge "${udp:-1}"
	check "$name.table_gone" "the table outlived passthru" no_table "$NS_B"
	grep '^passthru:' "$log" | sed "s/^/# $SUITE.$name: /"
}

# thread_cpus PID: the CPU list each thread of PID may run on, one per line.
thread_cpus() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/"$1"/task/*/status 2>/dev/null; }

# one_pinned PID: a thread of PID may run on one CPU only.
one_pinned() { thread_cpus "$1" | grep -Eqx '[0-9]+'; }

# none_pinned PID CPUS: every thread of PID may run on CPUS (its mask at start).
none_pinned() { ! thread_cpus "$1" | grep -qvx -- "$2"; }

# idle_threads PID: how many threads of PID run as SCHED_IDLE (policy 5, stat field 41).
idle_threads() { sed 's/.*) //' /proc/"$1"/task/*/stat 2>/dev/null | awk '$39 == 5' | wc -l; }

# sparse_pings PID IDLE: rounds of 30 pings 10 ms apart through PID, until IDLE of
# its threads run as SCHED_IDLE, at most 5 rounds: other work on its CPU now and
# then (3 ms of every 50 failed one run of a single round in three) keeps the
# pinned thread waiting, and a thread kept waiting rightly stays SCHED_OTHER a while.
sparse_pings() {
	local round
	for round in 1 2 3 4 5; do
		in_ns "$NS_A" ping -n -q -c 30 -i 0.01 "$(addr_of B 4)" >/dev/null
		[ "$(idle_threads "$1")" = "$2" ] && return
	done
}

# follow_case NAME [OPTION...]: sparse pings pin passthru -q 1's queue thread to the
# CPU they are enqueued on, as SCHED_IDLE (without --no-follow-cpu), a transfer under
# way frees it.
follow_case() {
	local name=$1 log=$WORK/$1.passthru pid cpus pinned=one_pinned idle=1
	shift
	[ "$*" = --no-follow-cpu ] && pinned="! one_pinned" idle=0
	spawn "$NS_B" "$log" "$IPREDIR" passthru -q 1 --quiet "$@"
	pid=$!
	wait_table "$NS_B" || { fail "$name" "passthru did not install its table"; show "$log"; stop "$pid"; return; }
	cpus=$(thread_cpus "$pid" | head -n 1)
	sparse_pings "$pid" "$idle"
	check "$name.sparse" "after sparse pings the threads may run on: $(thread_cpus "$pid" | paste -sd ' ')" \
		eval "$pinned $pid"
	check "$name.idle" "threads running as SCHED_IDLE: $(idle_threads "$pid"), want $idle" \
		test "$(idle_threads "$pid")" = "$idle"
	# 4 MB in bursts of 64 KiB 20 ms apart: bulk (GSO) packets while it lasts.
	tcp_transfer_start "$name.bulk" "$NS_A" "$NS_B" "$(addr_of B 4)" 4000000 0.02 ||
		{ fail "$name.bulk" "receiver did not listen"; stop "$pid"; return; }
	sleep 0.6
	check "$name.released" "during a transfer the threads may run on: $(thread_cpus "$pid" | paste -sd ' ')" \
		none_pinned "$pid" "$cpus"
	check "$name.released_idle" "threads running as SCHED_IDLE during a transfer: $(idle_threads "$pid")" \
		test "$(idle_threads "$pid")" = 0
	tcp_transfer_check "$name.bulk" 4000000
	stop "$pid"
}

for v in 4 6; do
	control_case "$v"
	queues_case "$v"
done
if [ "$(nproc)" -ge 2 ]; then
	follow_case follow
	follow_case stay --no-follow-cpu
else
	skip follow "one CPU: there is nothing to follow"
fi
finish
