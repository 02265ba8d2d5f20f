#!/bin/bash
# python/bench.sh - what a Python loop costs: two private namespaces joined by
# an unshaped veth pair; TCP (iperf3, 3 streams A to B, SECONDS each) and
# 64-byte UDP (udpseq, 4 flows, datagrams/s received by B) without a
# redirector, then through python/examples/passthru.py in A with batches of 64
# and of 1 packet (UDP with --fail-closed, so every counted datagram went
# through Python). Medians of RUNS runs, configurations interleaved.
#
#   +------+ veth-a        veth-b +------+
#   |  A   |----------------------|  B   |
#   +------+                      +------+
#   iperf3 -c, udpseq send        iperf3 -s, udpseq recv
#   passthru.py
#
# Run:   sudo make bench-python   (or sudo bash python/bench.sh after make; needs iperf3)
# Environment: RUNS (default 3), SECONDS_PER_RUN (5), UDP_COUNT per flow (50000),
# IPR_BUILD (the build tree), PY (the interpreter, default /usr/bin/python3).
# shellcheck source-path=SCRIPTDIR disable=SC2034 # SUITE is read by lib.sh
SUITE=pybench
. "$(dirname "$0")/../tests/netns/lib.sh"
PY=${PY:-/usr/bin/python3}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
UDP_COUNT=${UDP_COUNT:-50000}
UDP_FLOWS=4
UDPSEQ=$BUILD/tests/udpseq
PASSTHRU=$ROOT/python/examples/passthru.py
CONFIGS=(none "batch 64" "batch 1")
need_root_and bench "$BUILD/libipredir.so.0" "$UDPSEQ" "$(command -v iperf3)"
topo_pair 57 || { echo "bench: could not build A-B" >&2; exit 1; }
in_ns "$NS_B" iperf3 -s -D -p 5999 >/dev/null
wait_until 5 port_listening "$NS_B" 5999 ||
	{ echo "bench: iperf3 server did not start" >&2; exit 1; }

# redirector_start CONFIG ARGS...: passthru.py in A for CONFIG ("batch N"; none: nothing).
redirector_start() {
	local config=$1
	shift
	LOOP_PID=
	[ "$config" = none ] && return 0
	spawn "$NS_A" "$WORK/loop.log" env IPREDIR_LIB="$BUILD/libipredir.so.0" "$PY" "$PASSTHRU" \
		-b "${config#batch }" "$@"
	LOOP_PID=$!
	wait_until 10 has_line "$WORK/loop.log" '^passthru: ready'
}

redirector_stop() { [ -z "$LOOP_PID" ] || stop "$LOOP_PID"; }

# tcp_gbits: Gbit/s B received from 3 streams.
tcp_gbits() {
	in_ns "$NS_A" iperf3 -c "$B4" -p 5999 -P 3 -t "$SECONDS_PER_RUN" -J |
		"$PY" -c 'import json, sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

# udp_kpps: thousands of datagrams per second B received while A sent.
udp_kpps() {
	local log=$WORK/udpseq.recv t0 t1 sink
	spawn "$NS_B" "$log" "$UDPSEQ" recv 5300 --flows "$UDP_FLOWS" --timeout 1
	sink=$!
	wait_until 5 has_line "$log" '^listening' || { echo 0; return; }
	t0=$(date +%s%N)
	in_ns "$NS_A" "$UDPSEQ" send "$B4" 5300 --flows "$UDP_FLOWS" --count "$UDP_COUNT" \
		--size 64 >/dev/null 2>&1
	t1=$(date +%s%N)
	wait "$sink"
	sed -n 's/.*received=\([0-9]*\).*/\1/p' "$log" |
		awk -v ns="$((t1 - t0))" '{ printf "%.0f\n", $1 * 1e6 / ns }'
}

# median: the middle of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for run in $(seq "$RUNS"); do
	for config in "${CONFIGS[@]}"; do
		redirector_start "$config" "tcp port 5999" || { show "$WORK/loop.log"; exit 1; }
		echo "$config" "$(tcp_gbits)" >>"$WORK/tcp"
		redirector_stop
		redirector_start "$config" --fail-closed "udp port 5300" || { show "$WORK/loop.log"; exit 1; }
		echo "$config" "$(udp_kpps)" >>"$WORK/udp"
		redirector_stop
	done
	echo "bench: run $run of $RUNS done" >&2
done
printf '%-12s %14s %12s\n' config "TCP Gbit/s" "UDP kpps"
for config in "${CONFIGS[@]}"; do
	printf '%-12s %14s %12s\n' "$config" \
		"$(grep "^$config " "$WORK/tcp" | awk '{ print $NF }' | median)" \
		"$(grep "^$config " "$WORK/udp" | awk '{ print $NF }' | median)"
done
