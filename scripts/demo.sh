#!/bin/bash
# scripts/demo.sh - the IPRedir throughput test, on Linux (`sudo make demo`).
#
#   +-----------+  veth (unshaped)  +-----------+
#   | ns A      |-------------------| ns B      |
#   | iperf3 -c |  10.77.50.0/24    | iperf3 -s |
#   +-----------+                   | ipredir passthru (in+out)
#                                   +-----------+
# Three TCP streams each way at once (two iperf3 clients, -P 3 and -P 3 -R), first without
# redirection, then with every packet of ns B going through `ipredir passthru`.
# Runs alternate between the two; the table shows medians and the ratio.
#
# Environment: DEMO_SECONDS (per run, default 3), DEMO_RUNS (default 3).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@" # make runs it with sh

# shellcheck disable=SC2034 # SUITE is read by lib.sh
SUITE=demo
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
RUN_SECONDS=${DEMO_SECONDS:-3}
RUNS=${DEMO_RUNS:-3}

die() {
	echo "demo: $*" >&2
	exit 1
}

# measure LABEL: one run of two iperf3 clients at once, 3 streams A->B and 3 streams
# B->A (-R); appends "A->B B->A" in bit/s to $WORK/LABEL. Two processes, so neither
# direction waits on the other's single iperf3 thread.
measure() {
	in_ns "$NS_A" iperf3 -c "$B4" -P 3 -t "$RUN_SECONDS" -J >"$WORK/ab.json" &
	in_ns "$NS_A" iperf3 -c "$B4" -p 5202 -P 3 -R -t "$RUN_SECONDS" -J >"$WORK/ba.json" ||
		die "iperf3 B->A failed: $(tail -n 3 "$WORK/ba.json")"
	wait $! || die "iperf3 A->B failed: $(tail -n 3 "$WORK/ab.json")"
	python3 -c '
import json, sys
rate = lambda path: json.load(open(path))["end"]["sum_received"]["bits_per_second"]
print(rate(sys.argv[1]), rate(sys.argv[2]))' "$WORK/ab.json" "$WORK/ba.json" >>"$WORK/$1"
}

# measure_with_passthru: one run while ns B redirects everything through passthru.
measure_with_passthru() {
	local pid packets
	spawn "$NS_B" "$WORK/passthru.log" "$IPREDIR" passthru --quiet
	pid=$!
	wait_table "$NS_B" || die "passthru did not install its table: $(cat "$WORK/passthru.log")"
	measure with
	packets=$(queue_packets "$NS_B")
	stop "$pid" || die "passthru exited with status $?: $(cat "$WORK/passthru.log")"
	echo "$packets" >>"$WORK/packets"
}

# report: medians of both series and their ratio.
report() {
	python3 - "$WORK/without" "$WORK/with" "$WORK/packets" "$RUNS" "$RUN_SECONDS" <<'EOF'
import statistics, sys

def medians(path):
    runs = [[float(x) / 1e9 for x in line.split()] for line in open(path)]
    ab, ba = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    return ab, ba, statistics.median(r[0] + r[1] for r in runs)

without, with_ = medians(sys.argv[1]), medians(sys.argv[2])
packets = [int(x) for x in open(sys.argv[3])]
print("ipredir demo: 3 TCP streams each way between two namespaces over veth,")
print("%s s per run; each column is the median of %s runs;" % (sys.argv[5], sys.argv[4]))
print("ipredir passthru sees every packet in and out of the server namespace")
print()
row = "%-16s %14s %14s %14s"
print(row % ("", "A->B Gbit/s", "B->A Gbit/s", "total Gbit/s"))
print(row % (("without ipredir",) + tuple("%.2f" % x for x in without)))
print(row % (("with passthru",) + tuple("%.2f" % x for x in with_)))
print(row % (("ratio",) + tuple("%.2f" % (w / o) for w, o in zip(with_, without))))
print()
print("packets through passthru per run (median): %d" % statistics.median(packets))
EOF
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): sudo make demo"
[ -x "$IPREDIR" ] || die "$IPREDIR is missing: run make first"
topo_pair 50 || die "could not set up the namespaces"
spawn "$NS_B" "$WORK/iperf3-server.log" iperf3 -s
spawn "$NS_B" "$WORK/iperf3-server2.log" iperf3 -s -p 5202
wait_until 5 port_listening "$NS_B" 5201 || die "iperf3 server did not start"
wait_until 5 port_listening "$NS_B" 5202 || die "iperf3 server did not start on 5202"
for run in $(seq "$RUNS"); do
	echo "run $run of $RUNS: without, then with ipredir passthru" >&2
	measure without
	measure_with_passthru
done
report
